"""Azure Blob storage: Azurite from npm (``package.json`` + ``package-lock.json``, ``npm ci``).

Only the Blob service runs. The account is Azurite's published development account
(``devstoreaccount1`` and its documented key: not a secret, it works against no real Azure).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from mlplatform.services._process import http_status
from mlplatform.services.base import INSTALL_SCRIPT, Launch, PortUse, Service, find_binary
from mlplatform.services.config import ServicesConfig
from mlplatform.services.credentials import Credentials

__all__ = ["ACCOUNT", "Azurite", "connection_string"]

ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key (https://learn.microsoft.com/azure/storage/common/storage-use-azurite)
_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def connection_string(cfg: ServicesConfig) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={_KEY};"
        f"BlobEndpoint={cfg.url('azurite')}/{ACCOUNT};"
    )


class Azurite(Service):
    name = "azurite"
    title = "Azurite (Azure Blob)"
    start_timeout = 30.0

    def _bin(self, cfg: ServicesConfig) -> str:
        folders = [cfg.node_modules] if cfg.node_modules else _node_modules_upwards(Path.cwd())
        names = (*(str(f / ".bin" / "azurite-blob") for f in folders), "azurite-blob")
        hint = f"`npm ci` in the repository root ({INSTALL_SCRIPT} does it)"
        find_binary(("node",), cfg, "Node.js (for Azurite)", "apt-get install -y nodejs npm")
        return find_binary(names, cfg, "Azurite (azurite-blob)", hint)

    def launch(self, cfg: ServicesConfig, creds: Credentials) -> Launch:
        port = cfg.ports["azurite"]
        argv = [
            self._bin(cfg), "--blobHost", cfg.host, "--blobPort", str(port.number),
            "--location", str(cfg.dir(self.name)), "--skipApiVersionCheck", "--loose",
            "--disableProductStyleUrl", "--disableTelemetry", "--silent",
        ]  # fmt: skip
        return Launch(argv=argv, ports=(PortUse(port, "Azurite Blob"),), stop_timeout=5.0)

    def prepare(self, cfg: ServicesConfig, creds: Credentials) -> None:
        cfg.dir(self.name).mkdir(parents=True, exist_ok=True)

    def healthy(self, cfg: ServicesConfig, creds: Credentials) -> bool:
        return http_status(f"{self.url(cfg)}/{ACCOUNT}?comp=list") is not None

    def on_ready(self, cfg: ServicesConfig, creds: Credentials) -> None:
        from azure.core.exceptions import ResourceExistsError
        from azure.storage.blob import BlobServiceClient

        client = BlobServiceClient.from_connection_string(connection_string(cfg))
        with contextlib.suppress(ResourceExistsError):
            client.create_container(cfg.bucket)

    def url(self, cfg: ServicesConfig) -> str:
        return cfg.url("azurite")


def _node_modules_upwards(start: Path) -> list[Path]:
    return [p / "node_modules" for p in (start, *start.parents) if (p / "node_modules").is_dir()]
