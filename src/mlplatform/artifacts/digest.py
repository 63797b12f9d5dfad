"""sha256 digests of files and bytes, in the ``sha256:<hex>`` form used everywhere."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

__all__ = ["digest_bytes", "digest_file", "digest_stream", "hex_of"]

_CHUNK = 1 << 20


def digest_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def digest_stream(stream: BinaryIO) -> tuple[str, int]:
    """Digest and size of everything left in ``stream``."""
    h, size = hashlib.sha256(), 0
    while chunk := stream.read(_CHUNK):
        h.update(chunk)
        size += len(chunk)
    return "sha256:" + h.hexdigest(), size


def digest_file(path: Path) -> tuple[str, int]:
    with path.open("rb") as fh:
        return digest_stream(fh)


def hex_of(digest: str) -> str:
    """The hex part of ``sha256:<hex>``."""
    algo, _, hexpart = digest.partition(":")
    if algo != "sha256" or len(hexpart) != 64:
        raise ValueError(f"not a sha256 digest: {digest!r}")
    return hexpart
