"""Secret files of `mlp up` are owner-only from their first byte, whatever the umask: the
PostgreSQL password file (watched while the real initdb reads it), the credentials file, the
SeaweedFS identities; and no file of the state folder holds a secret with a wider mode."""

from __future__ import annotations

import glob
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlplatform.atomicfile import atomic_write_text
from mlplatform.services.credentials import CREDENTIALS_FILE

from .conftest import config, project_home, running

OWNER_ONLY = 0o600


@pytest.fixture
def open_umask() -> Iterator[None]:
    """umask 000: a file made with open()'s default mode would be world-readable (0666)."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def _watching_initdb(folder: Path, record: Path) -> str:
    """A search path whose ``initdb`` writes the mode of its ``--pwfile`` to ``record`` (as
    the user it runs as, while the file is in use) and then runs the real initdb."""
    real = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not real:
        pytest.fail("PostgreSQL is not installed (scripts/install-services.sh)")
    folder.mkdir(mode=0o755)
    wrapper = folder / "initdb"
    wrapper.write_text(
        "#!/bin/sh\n"
        'for a in "$@"; do case "$a" in --pwfile=*) f="${a#--pwfile=}";; esac; done\n'
        f'stat -c "%a %U" "$f" > {record}\n'
        f'exec {real[-1]} "$@"\n'
    )
    wrapper.chmod(0o755)
    return os.pathsep.join([str(folder), str(Path(real[-1]).parent), os.environ["PATH"]])


def test_secret_files_are_owner_only_from_the_first_byte(open_umask):
    with project_home() as home:
        # GIVEN umask 000 and an initdb that looks at the password file while it runs
        records = home.parent / "records"
        records.mkdir(mode=0o777)
        records.chmod(0o777)  # initdb runs as the postgres user when the tests run as root
        record = records / "pwfile-mode"
        cfg = config(home, artifacts="s3")
        cfg = cfg.with_changes(search_path=_watching_initdb(home.parent / "bin", record))
        # WHEN `mlp up` starts the real PostgreSQL and SeaweedFS
        with running(cfg, ("postgres", "seaweedfs")) as team:
            # THEN initdb found its password file owner-only (and owned by whoever runs it)
            mode, owner = record.read_text().split()
            assert int(mode, 8) == OWNER_ONLY
            assert owner == ("postgres" if os.geteuid() == 0 else _me())
            # AND it is gone once initdb is done
            assert not list(cfg.home.rglob(".pwfile*"))
            # AND the credentials and the S3 identities are owner-only
            assert _mode(cfg.home / CREDENTIALS_FILE) == OWNER_ONLY
            assert _mode(cfg.dir("seaweedfs") / "s3.json") == OWNER_ONLY
            # AND no file of the state folder holds a secret with a wider mode
            secrets = [team.creds.postgres_password, team.creds.s3_secret_key]
            assert _open_files_holding(cfg.home, secrets) == []


def test_the_atomic_writer_keeps_a_secret_mode_under_any_umask(tmp_path, open_umask):
    path = atomic_write_text(tmp_path / "secret", "s3cr3t", mode=0o600)
    assert _mode(path) == OWNER_ONLY
    plain = atomic_write_text(tmp_path / "plain", "hello")  # the default stays open()'s
    assert _mode(plain) == 0o666


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _me() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


def _open_files_holding(folder: Path, secrets: list[str]) -> list[str]:
    """Files under ``folder`` readable by group or others that contain one of ``secrets``."""
    found = []
    for path in folder.rglob("*"):
        if not path.is_file() or path.is_symlink() or not _mode(path) & 0o077:
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if any(secret.encode() in data for secret in secrets):
            found.append(f"{path} ({oct(_mode(path))})")
    return found
