"""Cache signing keys: HMAC-SHA256 that a wrong key or a changed byte fails, key files 0600."""

from __future__ import annotations

import os
import stat

import pytest

from mlplatform.artifacts.signing import CACHE_KEY_ENV, Signer, ensure_key_file
from mlplatform.errors import ConfigError

KEY = "k" * 64


def test_a_signature_verifies_only_with_its_key_and_its_bytes():
    # GIVEN a payload signed with one key
    signature = Signer(KEY).sign(b'{"key":"abc"}')
    # THEN it verifies with that key and those bytes
    assert Signer(KEY).verify(b'{"key":"abc"}', signature)
    # AND not with another key, other bytes, or no signature at all
    assert not Signer("o" * 64).verify(b'{"key":"abc"}', signature)
    assert not Signer(KEY).verify(b'{"key":"abd"}', signature)
    assert not Signer(KEY).verify(b'{"key":"abc"}', None)
    assert not Signer(KEY).verify(b'{"key":"abc"}', "")


def test_a_short_key_is_refused_with_a_way_to_make_one():
    with pytest.raises(ConfigError) as err:
        Signer("secret")
    assert CACHE_KEY_ENV in err.value.headline
    assert "token_hex" in err.value.hint


def test_the_key_id_names_the_key_without_revealing_it():
    assert Signer(KEY).key_id == Signer(KEY).key_id != Signer("o" * 64).key_id
    assert KEY[:12] not in Signer(KEY).key_id
    assert KEY not in repr(Signer(KEY))


def test_the_environment_key_wins_else_one_key_per_process():
    assert Signer.from_environ({CACHE_KEY_ENV: KEY}).key == KEY
    # a process without a configured key signs with its own random key, the same each time
    assert Signer.from_environ({}).key == Signer.from_environ({}).key != KEY


def test_the_local_key_file_is_private_from_its_first_byte_and_kept(tmp_path):
    home = tmp_path / ".mlplatform"
    # GIVEN a process umask that would make new files world-readable
    previous = os.umask(0)
    try:
        # WHEN the key is needed for the first time
        key = ensure_key_file(home)
    finally:
        os.umask(previous)
    # THEN it is a long random key in a file only its owner can read
    path = home / "cache.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) == 64
    assert path.read_text().strip() == key
    # AND later calls read the same key instead of making another
    assert ensure_key_file(home) == key
