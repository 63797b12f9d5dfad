"""ArtifactRef: how an artifact travels between steps (by reference, never by value)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["ArtifactRef"]


@dataclass(frozen=True)
class ArtifactRef:
    """Where an artifact lives and what it is.

    Attributes:
        uri: full URL of the stored bytes (``file:///...``, ``s3://...``).
        digest: ``sha256:<hex>`` of the stored bytes; reads verify it.
        type: the materializer that wrote it (``parquet``, ``numpy``, ``json``, ``sklearn``...).
        size: number of bytes.
    """

    uri: str
    digest: str
    type: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArtifactRef:
        return cls(
            uri=data["uri"], digest=data["digest"], type=data["type"], size=int(data["size"])
        )
