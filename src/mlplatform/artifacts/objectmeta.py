"""The digest an object store keeps beside each object, written with it and read without it.

A remote object's bytes are named by their sha256, and the writer records that digest as the
object's own metadata in the same request that uploads it:

============  ==========================  =====================================================
scheme        fsspec library, write       read (one metadata request, never the bytes)
============  ==========================  =====================================================
``s3``        s3fs ``put_file(Metadata)``  ``HeadObject``: ``ContentLength`` and
              (user metadata,              ``x-amz-meta-mlplatform-sha256``
              ``x-amz-meta-…``)
``gs``        gcsfs ``put_file(metadata)`` ``info()``: ``size`` and custom ``metadata``
              (custom metadata)
``abfs``      adlfs ``open("wb",           Get Blob Properties (``info(refresh=True)``):
              metadata=…)`` (blob          ``size`` and blob ``metadata``
              metadata; ``put_file`` fixes
              its own metadata)
============  ==========================  =====================================================

A plain overwrite of the object (any client's ``put``) replaces the metadata, so bytes written
by anyone but this store have no recorded digest. Other schemes (``memory://``, ...) record
nothing: ``Recorded.digest`` is None and the store falls back to reading the bytes.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Recorded", "can_record", "put_recorded", "recorded"]

_NAME = "mlplatform-sha256"  # S3 and GCS metadata names
_AZURE_NAME = "mlplatform_sha256"  # Azure metadata names are C# identifiers: no '-'
_CHUNK = 8 << 20


@dataclass(frozen=True)
class Recorded:
    """What the store says about an object: its size and the sha256 hex recorded at write time
    (None when nothing was recorded)."""

    size: int
    digest_hex: str | None


def can_record(protocol: str) -> bool:
    """Whether objects on ``protocol`` carry their digest as metadata."""
    return protocol in _WRITERS


def put_recorded(fs: Any, protocol: str, local: Path, path: str, digest_hex: str) -> None:
    """Upload ``local`` to ``path`` with its digest recorded as the object's metadata."""
    _WRITERS[protocol](fs, local, path, digest_hex)


def recorded(fs: Any, protocol: str, path: str) -> Recorded:
    """The size and recorded digest of the object at ``path``, from one metadata request.

    Raises:
        FileNotFoundError: no object at ``path``.
    """
    return _READERS[protocol](fs, path)


# ---- S3 (s3fs) -------------------------------------------------------------------------------
def _put_s3(fs: Any, local: Path, path: str, digest_hex: str) -> None:
    fs.put_file(str(local), path, Metadata={_NAME: digest_hex})


def _read_s3(fs: Any, path: str) -> Recorded:
    bucket, key, _ = fs.split_path(path)
    if not key:
        raise FileNotFoundError(path)
    head = fs.call_s3("head_object", Bucket=bucket, Key=key)
    meta = {k.lower(): v for k, v in (head.get("Metadata") or {}).items()}
    return Recorded(int(head["ContentLength"]), meta.get(_NAME))


# ---- GCS (gcsfs) -----------------------------------------------------------------------------
def _put_gs(fs: Any, local: Path, path: str, digest_hex: str) -> None:
    fs.put_file(str(local), path, metadata={_NAME: digest_hex})


def _read_gs(fs: Any, path: str) -> Recorded:
    fs.invalidate_cache(path)  # a listing cached by this process may be stale
    return _from_info(fs.info(path), _NAME, path)


# ---- Azure Blob (adlfs) ----------------------------------------------------------------------
def _put_abfs(fs: Any, local: Path, path: str, digest_hex: str) -> None:
    metadata = {"is_directory": "false", _AZURE_NAME: digest_hex}  # adlfs' own marker kept
    with local.open("rb") as src, fs.open(path, "wb", metadata=metadata) as dst:
        shutil.copyfileobj(src, dst, _CHUNK)
    fs.invalidate_cache()


def _read_abfs(fs: Any, path: str) -> Recorded:
    return _from_info(fs.info(path, refresh=True), _AZURE_NAME, path)


def _from_info(info: dict[str, Any], name: str, path: str) -> Recorded:
    if info.get("type") != "file":
        raise FileNotFoundError(path)
    meta = info.get("metadata") or {}
    return Recorded(int(info["size"]), meta.get(name))


_WRITERS: dict[str, Callable[[Any, Path, str, str], None]] = {
    "s3": _put_s3,
    "s3a": _put_s3,
    "gs": _put_gs,
    "gcs": _put_gs,
    "abfs": _put_abfs,
    "abfss": _put_abfs,
    "az": _put_abfs,
}
_READERS: dict[str, Callable[[Any, str], Recorded]] = {
    "s3": _read_s3,
    "s3a": _read_s3,
    "gs": _read_gs,
    "gcs": _read_gs,
    "abfs": _read_abfs,
    "abfss": _read_abfs,
    "az": _read_abfs,
}
