"""What the local services need to know: where their state lives, which ports, which stores.

The CLI builds one ``ServicesConfig`` from the settings (``[services]`` in ``mlplatform.toml``)
and passes it down; nothing here reads settings or the environment. ``up`` writes it to
``<home>/config.json`` so that ``down``, ``status``, ``logs`` and the watcher act on the ports
the services were really started with.

Layout under ``home`` (``.mlplatform/services`` by default)::

    config.json  state.json  credentials.json  .lock
    logs/<service>.log
    postgres/data/  seaweedfs/  mlflow/  prometheus/{prometheus.yml,rules/,targets/,data/}
    alertmanager/  azurite/  fake-gcs/
"""

from __future__ import annotations

import getpass
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

__all__ = ["ArtifactKind", "Port", "ServicesConfig", "default_ports", "env_name"]

ArtifactKind = Literal["s3", "azure", "gcs"]

SEAWEEDFS_INTERNAL_PORTS = 7  # master, volume, filer and their gRPC ports, then the S3 gRPC port


@dataclass(frozen=True)
class Port:
    """A port a service listens on, and the setting that chooses it (named in errors)."""

    number: int
    setting: str


def env_name(setting: str) -> str:
    """The environment variable of a dotted setting: ``services.mlflow_port`` ->
    ``MLPLATFORM_SERVICES__MLFLOW_PORT``."""
    return "MLPLATFORM_" + setting.upper().replace(".", "__")


def default_ports() -> dict[str, Port]:
    """The loopback ports of the ``team`` profile (none of them the tools' own defaults)."""
    numbers = {
        "postgres": 15432,
        "s3": 18333,
        "seaweedfs_base": 19330,
        "mlflow": 15000,
        "prometheus": 19090,
        "alertmanager": 19093,
        "azurite": 20000,
        "gcs": 14443,
        "audit_receiver": 15010,
    }
    return {name: Port(n, f"services.{name}_port") for name, n in numbers.items()}


@dataclass(frozen=True)
class ServicesConfig:
    """Everything ``mlp up`` needs, passed down from the CLI (or built by a test).

    Attributes:
        home: the state folder of the services (``.mlplatform/services``).
        ports: by name: ``postgres``, ``s3``, ``seaweedfs_base``, ``mlflow``, ``prometheus``,
            ``alertmanager``, ``azurite``, ``gcs``, ``audit_receiver``.
        host: the loopback address every service binds.
        bucket: the bucket (or container) made in the object store at start.
        artifacts: which object store holds MLflow's artifacts: ``s3`` (SeaweedFS),
            ``azure`` (Azurite) or ``gcs`` (fake-gcs-server).
        scrape_interval: Prometheus' scrape and rule evaluation interval.
        rules: Prometheus rule files (name -> YAML text); ``None``: the platform's rules.
        search_path: where to look for binaries (``PATH`` when ``None``).
        node_modules: the folder holding Azurite (found upwards from the cwd when ``None``).
        watch_interval: seconds between the watcher's liveness checks.
        users: the MLflow server's accounts (one each, random password in credentials.json);
            the team profile's clients log in as the settings' user, so four eyes means two
            of these accounts. Default: the OS user.
        production_aliases: aliases the audit receiver governs as production aliases beyond
            ``production`` (the project's ``production_aliases`` setting, e.g. champion).
    """

    home: Path
    ports: dict[str, Port] = field(default_factory=default_ports)
    host: str = "127.0.0.1"
    bucket: str = "mlplatform"
    artifacts: ArtifactKind = "s3"
    scrape_interval: str = "15s"
    rules: dict[str, str] | None = None
    search_path: str | None = None
    node_modules: Path | None = None
    watch_interval: float = 2.0
    users: tuple[str, ...] = field(default_factory=lambda: (getpass.getuser(),))
    production_aliases: tuple[str, ...] = ()

    def port(self, name: str) -> int:
        return self.ports[name].number

    def url(self, name: str) -> str:
        return f"http://{self.host}:{self.port(name)}"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    def log(self, service: str) -> Path:
        return self.logs_dir / f"{service}.log"

    def dir(self, service: str) -> Path:
        return self.home / service

    @property
    def targets_dir(self) -> Path:
        """Where ``mlp serve`` drops one JSON file per model server (Prometheus file SD)."""
        return self.home / "prometheus" / "targets"

    def with_changes(self, **changes: Any) -> ServicesConfig:
        return replace(self, **changes)

    def to_json(self) -> str:
        data = asdict(self)
        data["home"] = str(self.home)
        data["node_modules"] = str(self.node_modules) if self.node_modules else None
        return json.dumps(data, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ServicesConfig:
        data = json.loads(text)
        data["home"] = Path(data["home"])
        data["ports"] = {k: Port(**v) for k, v in data["ports"].items()}
        for name in ("users", "production_aliases"):  # absent from older config.json files
            if name in data:
                data[name] = tuple(data[name])
        if data.get("node_modules"):
            data["node_modules"] = Path(data["node_modules"])
        return cls(**data)
