"""A content-addressed object store over fsspec, with atomic writes and verified reads.

Layout under the root URL::

    objects/sha256/<ab>/<abcdef...>   artifact bytes, named by their digest
    cache/<key[:2]>/<key>.json         cache index entries (see mlplatform.pipelines.cache)
    last/<pipeline>/<node>.json        the last key components per node, for `mlp pipeline plan`

Atomicity: on a local filesystem every write goes through ``mlplatform.atomicfile`` (a temporary
name in the same folder, fsync, rename into place, fsync of the folder), so a reader never sees a
half-written object even if the writer is killed with SIGKILL or the machine loses power. Object
stores (S3, GCS, Azure Blob) make an object visible only when its upload completes, so a plain
put is atomic there.

Keys are relative paths under the root: every method refuses a key that is absolute or has an
empty, ``.`` or ``..`` part (``ArtifactError``), so no name can reach outside the store.

Checks (``verify``, and ``put_object`` before it writes) and reads (``fetch``) differ on remote
stores. A check asks the store for the object's size and the digest recorded as its metadata
when it was written (``mlplatform.artifacts.objectmeta``): one metadata request, never the
bytes. A read downloads the bytes and hashes them, so bytes changed behind the store's back
are still caught where they would be used. A local check hashes the file.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlplatform.artifacts import objectmeta
from mlplatform.artifacts.digest import digest_file, digest_stream, hex_of
from mlplatform.artifacts.refs import ArtifactRef
from mlplatform.atomicfile import atomic_path, is_temporary
from mlplatform.errors import ArtifactError, ArtifactNotFoundError, DigestMismatchError

__all__ = ["ArtifactStore", "checked_key"]

_LEGACY_TEMP_PREFIX = ".tmp-"  # left by a writer killed before writes went through atomicfile


class ArtifactStore:
    """An object store rooted at ``root`` (``file://``, a plain path, ``s3://``, ``gs://``, ``abfs://``)."""

    def __init__(self, root: str | Path, storage_options: dict[str, Any] | None = None) -> None:
        root = str(root)
        if "://" not in root:
            root = Path(root).resolve().as_uri()
        self.root = root.rstrip("/")
        self.storage_options = dict(storage_options or {})
        self.protocol = self.root.split("://", 1)[0]
        self.local = self.protocol == "file"
        self._fs: Any = None
        if self.local:  # the folder is made by the first write: reading creates nothing
            self._local_root = Path(self.root[len("file://") :])

    def __repr__(self) -> str:
        return f"ArtifactStore({self.root!r})"

    @property
    def fs(self) -> Any:
        """The fsspec filesystem (imported lazily: local runs never pay for it)."""
        if self._fs is None:
            try:
                import fsspec

                self._fs = fsspec.filesystem(self.protocol, **self.storage_options)
            except (ImportError, ValueError) as exc:
                raise ArtifactError(
                    f"cannot open the artifact store {self.root}: {exc}",
                    "Install the cloud extra: `uv pip install 'mlplatform[cloud]'`.",
                ) from exc
        return self._fs

    def url(self, key: str) -> str:
        return f"{self.root}/{self._checked(key)}"

    def _checked(self, key: str, *, prefix: bool = False) -> str:
        try:
            return checked_key(key, prefix=prefix)
        except ValueError as exc:
            raise ArtifactError(
                f"refused store key {key!r} under {self.root}: {exc}",
                "Store keys are relative paths under the store root. Use pipeline, step and"
                " model names without '/', '\\' or '..', then run the command again.",
            ) from None

    def _local(self, key: str, *, prefix: bool = False) -> Path:
        return self._local_root / self._checked(key, prefix=prefix)

    def _path(self, key: str, *, prefix: bool = False) -> str:
        if self.local:
            return str(self._local(key, prefix=prefix))
        return f"{self.root.split('://', 1)[1]}/{self._checked(key, prefix=prefix)}"

    def exists(self, key: str) -> bool:
        if self.local:
            return self._local(key).exists()
        return bool(self.fs.exists(self._path(key)))

    def read_bytes(self, key: str) -> bytes:
        try:
            if self.local:
                return self._local(key).read_bytes()
            return bytes(self.fs.cat_file(self._path(key)))
        except FileNotFoundError as exc:
            raise ArtifactNotFoundError(f"{self.url(key)} does not exist") from exc

    def write_bytes(self, key: str, data: bytes) -> None:
        """Write ``data`` at ``key`` atomically (readers see all of it or nothing)."""
        if self.local:
            self._atomic_local(key, lambda tmp: tmp.write_bytes(data))
            return
        self.fs.pipe_file(self._path(key), data)

    def _put_file(self, local: Path, key: str, digest: str | None = None) -> None:
        """Copy ``local`` to ``key``; on a remote store with ``digest``, recorded as metadata."""
        if self.local:
            self._atomic_local(key, lambda tmp: shutil.copyfile(local, tmp))
        elif digest is not None and objectmeta.can_record(self.protocol):
            objectmeta.put_recorded(self.fs, self.protocol, local, self._path(key), hex_of(digest))
        else:
            self.fs.put_file(str(local), self._path(key))

    def _atomic_local(self, key: str, fill: Callable[[Path], object]) -> None:
        """Fill a temporary file beside ``key``'s path; it is the object once ``fill`` returns."""
        target = self._local(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp:
            fill(tmp)

    def list(self, prefix: str) -> list[str]:
        """Keys under ``prefix`` (recursive; ``""`` is the whole store), without temporary files."""
        if self.local:
            base = self._local(prefix, prefix=True)
            if not base.exists():
                return []
            return sorted(
                str(p.relative_to(self._local_root))
                for p in base.rglob("*")
                if p.is_file() and not _is_temporary(p)
            )
        root = self.root.split("://", 1)[1].strip("/") + "/"
        found = self.fs.find(self._path(prefix, prefix=True))
        return sorted(str(f).lstrip("/")[len(root) :] for f in found)

    def delete(self, key: str) -> None:
        if self.local:
            self._local(key).unlink(missing_ok=True)
        elif self.fs.exists(self._path(key)):
            self.fs.rm_file(self._path(key))

    @staticmethod
    def object_key(digest: str) -> str:
        hexpart = hex_of(digest)
        return f"objects/sha256/{hexpart[:2]}/{hexpart}"

    def put_object(self, local: Path, type_: str) -> ArtifactRef:
        """Store a local file under its content digest; returns its reference.

        An intact copy already in the store is kept: on a remote store that is decided from
        its metadata (``verify``), without downloading it.
        """
        digest, size = digest_file(local)
        key = self.object_key(digest)
        ref = ArtifactRef(uri=self.url(key), digest=digest, type=type_, size=size)
        if not self._holds(ref):
            self._put_file(local, key, digest)
        return ref

    def _holds(self, ref: ArtifactRef) -> bool:
        """Whether the store has ``ref``'s intact bytes; a corrupted copy must be overwritten."""
        try:
            self.verify(ref)
        except (ArtifactNotFoundError, DigestMismatchError):
            return False
        return True

    def fetch(self, ref: ArtifactRef, scratch: Path) -> Path:
        """A local path holding ``ref``'s bytes, verified against its digest.

        Raises:
            ArtifactNotFoundError: the object is gone.
            DigestMismatchError: the stored bytes differ from the digest in the reference.
        """
        key = self.object_key(ref.digest)
        if self.local:
            path = self._local(key)
            if not path.exists():
                raise ArtifactNotFoundError(f"artifact {ref.uri} does not exist")
            self.verify_file(path, ref)
            return path
        path = scratch / hex_of(ref.digest)
        if not path.exists():
            scratch.mkdir(parents=True, exist_ok=True)
            try:
                self.fs.get_file(self._path(key), str(path))
            except FileNotFoundError as exc:
                raise ArtifactNotFoundError(f"artifact {ref.uri} does not exist") from exc
        try:
            self.verify_file(path, ref)
        except DigestMismatchError:
            path.unlink(missing_ok=True)  # never reuse bad bytes from the scratch folder
            raise
        return path

    def verify(self, ref: ArtifactRef) -> None:
        """Check, as far as can be told cheaply, that ``ref``'s object is intact.

        Local: the file's sha256. Remote: one metadata request, the object's size and the
        digest recorded when it was written, never the bytes (``fetch`` hashes those when it
        reads them). A scheme that records no metadata is checked by reading the bytes.

        Raises:
            ArtifactNotFoundError: the object is gone.
            DigestMismatchError: the object differs from ``ref`` (or, remote, has no digest
                recorded by this store: bytes written by another client are not trusted).
        """
        key = self.object_key(ref.digest)
        if self.local:
            path = self._local(key)
            if not path.exists():
                raise ArtifactNotFoundError(f"artifact {ref.uri} does not exist")
            self.verify_file(path, ref)
        elif objectmeta.can_record(self.protocol):
            self._verify_recorded(ref, key)
        else:
            self._verify_by_reading(ref, key)

    def _verify_recorded(self, ref: ArtifactRef, key: str) -> None:
        try:
            found = objectmeta.recorded(self.fs, self.protocol, self._path(key))
        except FileNotFoundError as exc:
            raise ArtifactNotFoundError(f"artifact {ref.uri} does not exist") from exc
        if found.size != ref.size:
            raise DigestMismatchError(
                f"artifact {ref.uri} is corrupted: expected {ref.size} bytes, found {found.size}"
            )
        if found.digest_hex is None:
            raise DigestMismatchError(
                f"artifact {ref.uri} has no digest recorded by the artifact store"
                " (written by another client, or before digests were recorded)",
                "Re-run the step: it writes the object again, with its digest.",
            )
        if found.digest_hex != hex_of(ref.digest):
            raise DigestMismatchError(
                f"artifact {ref.uri} is corrupted: expected {ref.digest},"
                f" recorded sha256:{found.digest_hex}"
            )

    def _verify_by_reading(self, ref: ArtifactRef, key: str) -> None:
        try:
            with self.fs.open(self._path(key), "rb") as fh:
                digest, _ = digest_stream(fh)
        except FileNotFoundError as exc:
            raise ArtifactNotFoundError(f"artifact {ref.uri} does not exist") from exc
        self._compare(ref, digest)

    @staticmethod
    def verify_file(path: Path, ref: ArtifactRef) -> None:
        digest, _ = digest_file(path)
        ArtifactStore._compare(ref, digest)

    @staticmethod
    def _compare(ref: ArtifactRef, digest: str) -> None:
        if digest != ref.digest:
            raise DigestMismatchError(
                f"artifact {ref.uri} is corrupted: expected {ref.digest}, found {digest}",
            )


def checked_key(key: str, *, prefix: bool = False) -> str:
    """``key`` if it is a relative path under a store root, else ``ValueError`` saying why.

    A key is parts joined by ``/``: not absolute, no empty, ``.`` or ``..`` part, no ``\\``
    or NUL. With ``prefix`` (a listing), ``""`` (the whole store) and a trailing ``/`` pass.
    """
    body = key[:-1] if prefix and key.endswith("/") else key
    if prefix and body == "":
        return key
    if body.startswith("/"):
        raise ValueError("an absolute path")
    if "\\" in body or "\0" in body:
        raise ValueError("a backslash or NUL character")
    bad = [part for part in body.split("/") if part in ("", ".", "..")]
    if bad:
        shown = "an empty part" if bad[0] == "" else f"a {bad[0]!r} part"
        raise ValueError(f"{shown} (a key must stay under the root)")
    return key


def _is_temporary(path: Path) -> bool:
    return is_temporary(path) or path.name.startswith(_LEGACY_TEMP_PREFIX)
