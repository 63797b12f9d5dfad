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
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlplatform.artifacts.digest import digest_file, hex_of
from mlplatform.artifacts.refs import ArtifactRef
from mlplatform.atomicfile import atomic_path, is_temporary
from mlplatform.errors import ArtifactError, ArtifactNotFoundError, DigestMismatchError

__all__ = ["ArtifactStore"]

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
        return f"{self.root}/{key}"

    def _path(self, key: str) -> str:
        return self.url(key).split("://", 1)[1] if not self.local else str(self._local_root / key)

    def exists(self, key: str) -> bool:
        if self.local:
            return (self._local_root / key).exists()
        return bool(self.fs.exists(self._path(key)))

    def read_bytes(self, key: str) -> bytes:
        try:
            if self.local:
                return (self._local_root / key).read_bytes()
            return bytes(self.fs.cat_file(self._path(key)))
        except FileNotFoundError as exc:
            raise ArtifactNotFoundError(f"{self.url(key)} does not exist") from exc

    def write_bytes(self, key: str, data: bytes) -> None:
        """Write ``data`` at ``key`` atomically (readers see all of it or nothing)."""
        if self.local:
            self._atomic_local(key, lambda tmp: tmp.write_bytes(data))
            return
        self.fs.pipe_file(self._path(key), data)

    def _put_file(self, local: Path, key: str) -> None:
        if self.local:
            self._atomic_local(key, lambda tmp: shutil.copyfile(local, tmp))
            return
        self.fs.put_file(str(local), self._path(key))

    def _atomic_local(self, key: str, fill: Callable[[Path], object]) -> None:
        """Fill a temporary file beside ``key``'s path; it is the object once ``fill`` returns."""
        target = self._local_root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp:
            fill(tmp)

    def list(self, prefix: str) -> list[str]:
        """Keys under ``prefix`` (recursive), without temporary files."""
        if self.local:
            base = self._local_root / prefix
            if not base.exists():
                return []
            return sorted(
                str(p.relative_to(self._local_root))
                for p in base.rglob("*")
                if p.is_file() and not _is_temporary(p)
            )
        root = self._path("").strip("/") + "/"
        found = self.fs.find(self._path(prefix))
        return sorted(str(f).lstrip("/")[len(root) :] for f in found)

    def delete(self, key: str) -> None:
        if self.local:
            (self._local_root / key).unlink(missing_ok=True)
        elif self.fs.exists(self._path(key)):
            self.fs.rm_file(self._path(key))

    @staticmethod
    def object_key(digest: str) -> str:
        hexpart = hex_of(digest)
        return f"objects/sha256/{hexpart[:2]}/{hexpart}"

    def put_object(self, local: Path, type_: str) -> ArtifactRef:
        """Store a local file under its content digest; returns its reference."""
        digest, size = digest_file(local)
        key = self.object_key(digest)
        ref = ArtifactRef(uri=self.url(key), digest=digest, type=type_, size=size)
        if not self._holds(ref):
            self._put_file(local, key)
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
            path = self._local_root / key
            if not path.exists():
                raise ArtifactNotFoundError(f"artifact {ref.uri} does not exist")
        else:
            path = scratch / hex_of(ref.digest)
            if not path.exists():
                try:
                    self.fs.get_file(self._path(key), str(path))
                except FileNotFoundError as exc:
                    raise ArtifactNotFoundError(f"artifact {ref.uri} does not exist") from exc
        self.verify_file(path, ref)
        return path

    def verify(self, ref: ArtifactRef) -> None:
        """Check the stored bytes of ``ref`` against its digest (raise if changed or gone)."""
        if self.local:
            path = self._local_root / self.object_key(ref.digest)
            if not path.exists():
                raise ArtifactNotFoundError(f"artifact {ref.uri} does not exist")
            self.verify_file(path, ref)
            return
        with tempfile.TemporaryDirectory() as tmp:
            self.fetch(ref, Path(tmp))

    @staticmethod
    def verify_file(path: Path, ref: ArtifactRef) -> None:
        digest, _ = digest_file(path)
        if digest != ref.digest:
            raise DigestMismatchError(
                f"artifact {ref.uri} is corrupted: expected {ref.digest}, found {digest}",
            )


def _is_temporary(path: Path) -> bool:
    return is_temporary(path) or path.name.startswith(_LEGACY_TEMP_PREFIX)
