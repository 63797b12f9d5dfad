"""Atomic local file writes: a reader sees the old file or the whole new one, never a part.

Every local file that a person or another process reads is written through here. The bytes
go to a temporary file in the target's folder (``.<name>.<random>.tmp``, created exclusively
and with its final permissions from the first instant), which is flushed to disk (``fsync``),
renamed over the target (``os.replace``, atomic within one filesystem), and then the folder is
flushed too, so that the rename itself survives a crash or a power cut. On any error the
temporary file is removed and the target is left as it was. A process killed mid-write leaves
only its temporary file behind; ``is_temporary`` recognises one.

Object stores (S3, GCS, Azure Blob) need none of this: an object becomes visible only when its
upload completes.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "atomic_folder",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "is_temporary",
]

_SUFFIX = ".tmp"
_DEFAULT_MODE = 0o666  # less the umask, as open() does


@contextmanager
def atomic_path(target: str | os.PathLike[str], mode: int | None = None) -> Iterator[Path]:
    """A temporary path beside ``target`` that becomes ``target`` when the block succeeds.

    The temporary file already exists (empty, with its final permissions); fill it by name
    (``shutil.copyfile(src, tmp)``, ``tmp.open("wb")``): writers that truncate keep its mode.

    Args:
        target: the file to write; its folder must exist.
        mode: the file's permission bits (``0o600`` for secrets), in force from creation so the
            file is never more open than that; default ``0o666`` less the umask, like ``open()``.

    Yields:
        The temporary path to fill.

    Raises:
        OSError: the folder is missing or read-only, or the disk is full; ``target`` is unchanged.
    """
    target = Path(target)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(8)}{_SUFFIX}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _DEFAULT_MODE if mode is None else mode)
    try:
        try:
            if mode is not None:
                os.fchmod(fd, mode)  # exactly ``mode``: the umask may have narrowed it
        finally:
            os.close(fd)
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(target.parent)


def atomic_write_bytes(
    target: str | os.PathLike[str], data: bytes, mode: int | None = None
) -> Path:
    """Write ``data`` to ``target`` atomically and durably; returns the path written.

    Args:
        target: the file to write; its folder must exist.
        data: the whole new content.
        mode: the file's permission bits (see ``atomic_path``).
    """
    with atomic_path(target, mode) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def atomic_write_text(
    target: str | os.PathLike[str], text: str, mode: int | None = None, encoding: str = "utf-8"
) -> Path:
    """Write ``text`` to ``target`` atomically and durably; returns the path written.

    Args:
        target: the file to write; its folder must exist.
        text: the whole new content.
        mode: the file's permission bits (see ``atomic_path``).
        encoding: how ``text`` is encoded.
    """
    return atomic_write_bytes(target, text.encode(encoding), mode)


@contextmanager
def atomic_folder(target: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary folder beside ``target`` that becomes ``target`` when the block succeeds.

    For outputs made of several files (a model checkpoint): readers see the whole folder or
    none of it. ``target`` must not exist; on failure the temporary folder is removed.

    Raises:
        FileExistsError: ``target`` exists.
    """
    target = Path(target)
    if target.exists():
        raise FileExistsError(target)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(8)}{_SUFFIX}")
    tmp.mkdir()
    try:
        yield tmp
        os.rename(tmp, target)  # a folder: fails (does not replace) if target appeared meanwhile
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_folder(target.parent)


def is_temporary(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names a temporary file of ``atomic_path`` (a write not, or never, done)."""
    name = Path(path).name
    return name.startswith(".") and name.endswith(_SUFFIX)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (the folder's entries are data too)."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno != errno.EINVAL:  # EINVAL: a filesystem that cannot sync folders
            raise
    finally:
        os.close(fd)
