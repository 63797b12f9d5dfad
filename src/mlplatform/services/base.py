"""What every local service module provides: how to launch it, and how to tell it is ready.

A service is one module with one ``Service`` subclass; ``catalog.py`` names them. The supervisor
does the rest the same way for all: check the binary and the ports, ``prepare`` (config files,
``initdb``), spawn ``launch().argv`` in its own session with its log, poll ``healthy``, then
``on_ready`` (make a bucket or a database).
"""

from __future__ import annotations

import shutil
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from mlplatform.errors import ServiceError
from mlplatform.services.config import Port, ServicesConfig
from mlplatform.services.credentials import Credentials

__all__ = ["INSTALL_SCRIPT", "Launch", "PortUse", "Service", "find_binary"]

INSTALL_SCRIPT = "scripts/install-services.sh"


@dataclass(frozen=True)
class PortUse:
    """A port a service binds, what for, and the setting that chooses it."""

    port: Port
    what: str


@dataclass(frozen=True)
class Launch:
    """How to run a service: command, environment, ports it binds, how to stop it."""

    argv: list[str]
    ports: tuple[PortUse, ...]
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    cwd: Path | None = None
    stop_signal: int = signal.SIGTERM
    stop_timeout: float = 10.0
    signal_group: bool = True


class Service:
    """One local service. Subclasses set the class attributes and ``launch`` / ``healthy``."""

    name: ClassVar[str]
    title: ClassVar[str]
    start_timeout: ClassVar[float] = 60.0

    def requires(self, cfg: ServicesConfig) -> tuple[str, ...]:
        """Services that must be running first."""
        return ()

    def launch(self, cfg: ServicesConfig, creds: Credentials) -> Launch:
        raise NotImplementedError

    def prepare(self, cfg: ServicesConfig, creds: Credentials) -> None:
        """Write config files, initialise data folders (idempotent)."""

    def healthy(self, cfg: ServicesConfig, creds: Credentials) -> bool:
        raise NotImplementedError

    def on_ready(self, cfg: ServicesConfig, creds: Credentials) -> None:
        """Once healthy: make buckets, databases (idempotent)."""

    def url(self, cfg: ServicesConfig) -> str:
        raise NotImplementedError


def find_binary(names: tuple[str, ...], cfg: ServicesConfig, what: str, install: str) -> str:
    """The first of ``names`` found on the search path, else a ServiceError saying how to install.

    Args:
        names: candidate executables (absolute paths are checked as they are).
        cfg: gives the search path (``PATH`` when unset).
        what: the tool, for the message ("Prometheus").
        install: the command that installs it.
    """
    for name in names:
        found = shutil.which(name, path=cfg.search_path)
        if found:
            return found
    raise ServiceError(
        f"{what} is not installed: none of {', '.join(Path(n).name for n in names)} was found",
        f"Run `{INSTALL_SCRIPT}` (it needs root for apt-get), or install it yourself: {install}",
    )
