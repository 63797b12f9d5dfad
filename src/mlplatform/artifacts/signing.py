"""HMAC-SHA256 signatures for what is read back from a shared store (the cache index).

Anyone who can write to a bucket shared by laptops and Argo pods could otherwise plant a cache
entry that points at a pickle of their choosing. Every entry is signed with a secret key; an
entry whose signature is missing or does not verify is treated as a miss, never loaded. The
entry names each output's sha256 and fetching an object verifies it, so a verified entry
authenticates the objects it names too.

Where the key comes from (first found):

1. ``MLPLATFORM_CACHE_KEY`` in the environment (the settings field ``cache_key``; in the
   cluster a Kubernetes Secret mounted as that variable). Everyone who shares a store must
   share this key.
2. On the local and team profiles, ``<home>/cache.key`` (``.mlplatform/cache.key``), made by
   ``ensure_key_file`` with mode 0600 from its first byte.
3. A process that has neither (the engine used as a library) signs with a random key of its
   own, handed to its step processes through the environment: its entries are hits for itself
   and misses (with a warning) for everyone else.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from mlplatform.atomicfile import atomic_write_text
from mlplatform.errors import ConfigError

__all__ = [
    "CACHE_KEY_ENV",
    "KEY_FILE",
    "SIGNATURE_PREFIX",
    "Signer",
    "ensure_key_file",
    "new_key",
]

CACHE_KEY_ENV = "MLPLATFORM_CACHE_KEY"
KEY_FILE = "cache.key"
SIGNATURE_PREFIX = "hmac-sha256:"
MIN_KEY_CHARS = 32


def new_key() -> str:
    """A fresh random key (64 hex characters)."""
    return secrets.token_hex(32)


class Signer:
    """Signs and verifies byte strings with one secret key."""

    def __init__(self, key: str) -> None:
        key = key.strip()
        if len(key) < MIN_KEY_CHARS:
            raise ConfigError(
                f"{CACHE_KEY_ENV} is too short ({len(key)} characters, at least "
                f"{MIN_KEY_CHARS} needed)",
                f'Set it to a random value: export {CACHE_KEY_ENV}="$(python -c '
                "'import secrets; print(secrets.token_hex(32))')\"",
            )
        self._key = key.encode()

    def __repr__(self) -> str:
        return f"Signer(key id {self.key_id})"

    @property
    def key(self) -> str:
        """The secret itself (to hand to a step process through its environment)."""
        return self._key.decode()

    @property
    def key_id(self) -> str:
        """A short public name of the key (safe to print: it does not reveal the key)."""
        return hashlib.sha256(b"mlplatform-key-id:" + self._key).hexdigest()[:12]

    def sign(self, payload: bytes) -> str:
        return SIGNATURE_PREFIX + hmac.new(self._key, payload, hashlib.sha256).hexdigest()

    def verify(self, payload: bytes, signature: str | None) -> bool:
        """Whether ``signature`` is this key's signature of ``payload`` (constant time)."""
        if not signature:
            return False
        return hmac.compare_digest(self.sign(payload), signature)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Signer:
        """The signer of ``MLPLATFORM_CACHE_KEY``, else this process's own random key."""
        environ = os.environ if environ is None else environ
        key = environ.get(CACHE_KEY_ENV)
        return cls(key) if key else cls(_process_key())


@lru_cache(maxsize=1)
def _process_key() -> str:
    return new_key()


def ensure_key_file(home: Path) -> str:
    """The key in ``home/cache.key``, made (mode 0600 from its first byte) if missing."""
    path = home / KEY_FILE
    if path.is_file():
        return path.read_text().strip()
    home.mkdir(parents=True, exist_ok=True)
    key = new_key()
    # Two first runs at once may both write; the last key wins and the other run's entries
    # become misses (recomputed), never loads.
    atomic_write_text(path, key + "\n", mode=0o600)
    return path.read_text().strip()
