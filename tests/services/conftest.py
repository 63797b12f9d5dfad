"""Fixtures that start real local services on free loopback ports and stop them by PID.

A missing tool fails the test with the command that installs it (scripts/install-services.sh);
nothing here skips. A test that needs only an object store takes the run's one emulator of that
store (``shared_store``, started once for all workers) and keeps to its own prefix in it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _shared import shared
from mlplatform.errors import ServiceError
from mlplatform.services import Port, ServicesConfig, Supervisor, default_ports
from mlplatform.services.mlflow_auth import admin_env, logged_in
from mlplatform.services.stores import STORE_SERVICE

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_block(size: int) -> int:
    """The first of ``size`` consecutive free ports (for SeaweedFS' base port)."""
    for _ in range(200):
        base = free_port()
        if base + size < 65535 and all(_free(base + i) for i in range(size)):
            return base
    raise RuntimeError("no block of free ports")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_ports() -> dict[str, Port]:
    ports = {name: Port(free_port(), p.setting) for name, p in default_ports().items()}
    ports["seaweedfs_base"] = Port(free_block(7), "services.seaweedfs_base_port")
    return ports


test_ports.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@contextlib.contextmanager
def project_home() -> Iterator[Path]:
    """A project's ``.mlplatform`` folder that the postgres user can reach (pytest's own
    temporary folders are private to root)."""
    root = Path(tempfile.mkdtemp(prefix="mlp-services-"))
    root.chmod(0o755)
    try:
        yield root / ".mlplatform"
    finally:
        shutil.rmtree(root, ignore_errors=True)


def config(home: Path, **changes: object) -> ServicesConfig:
    cfg = ServicesConfig(
        home=home / "services", ports=test_ports(), node_modules=REPO / "node_modules"
    )
    return cfg.with_changes(**changes)


@contextlib.contextmanager
def running(cfg: ServicesConfig, names: tuple[str, ...] = ()) -> Iterator[Supervisor]:
    """The services up for the block, then down (by PID), whatever happened: a SIGTERM to
    pytest (a timeout) becomes an exit, so the services are stopped then too."""
    supervisor = Supervisor(cfg)
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        try:
            supervisor.up(names)
        except ServiceError as exc:
            pytest.fail(f"{exc}\n(install everything with scripts/install-services.sh)")
        with logged_in(admin_env(supervisor.creds)):
            yield supervisor
    finally:
        supervisor.down()
        signal.signal(signal.SIGTERM, previous)


def shared_store(kind: str) -> Supervisor:
    """The run's one emulator of ``kind``'s object store (SeaweedFS, Azurite, fake-gcs-server),
    started by whichever worker asks first and stopped by PID when the run ends
    (tests/_shared.py). A test that needs only a bucket takes this, never a whole ``mlp up``
    stack (about a minute to start). Tests that share it write under their own prefix
    (``unique_prefix``), never at the bucket's top."""

    def make(folder: Path) -> dict[str, Any]:
        folder.chmod(0o755)
        supervisor = Supervisor(config(folder / ".mlplatform", artifacts=kind))
        try:
            started = supervisor.up((STORE_SERVICE[kind],))
        except ServiceError as exc:
            supervisor.down()
            pytest.fail(f"{exc}\n(install everything with scripts/install-services.sh)")
        return {"home": str(supervisor.cfg.home), "pgids": [s.pid for s in started if s.pid]}

    record = shared(f"store-{kind}", make)
    supervisor = Supervisor.from_home(Path(record["home"]))
    assert supervisor is not None, record
    return supervisor


def unique_prefix() -> str:
    """A fresh folder name for one test's objects in a shared store."""
    return f"t-{uuid.uuid4().hex[:12]}"


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(f"terminated by signal {signum}")


def cli_env(cfg: ServicesConfig, **extra: str) -> dict[str, str]:
    """Environment for the real `mlp` CLI to use these services on the team profile."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLPLATFORM_", "MLFLOW_"))}
    env["MLPLATFORM_PROFILE"] = "team"
    env["MLPLATFORM_HOME"] = str(cfg.home.parent)
    env["MLPLATFORM_SERVICES__BUCKET"] = cfg.bucket
    for name, port in cfg.ports.items():
        env[f"MLPLATFORM_SERVICES__{name.upper()}_PORT"] = str(port.number)
    env.update(extra)
    return env
