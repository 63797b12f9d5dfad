"""Alertmanager from Debian's ``prometheus-alertmanager`` package, single node (no gossip).

The default route groups by alert name and sends nowhere: add receivers (Slack, e-mail,
a webhook) to ``alertmanager/alertmanager.yml`` once ``up`` has written it; ``up`` keeps a
file it did not write.
"""

from __future__ import annotations

from typing import Any

import yaml

from mlplatform.atomicfile import atomic_write_text
from mlplatform.services._process import http_status
from mlplatform.services.base import Launch, PortUse, Service, find_binary
from mlplatform.services.config import ServicesConfig
from mlplatform.services.credentials import Credentials

__all__ = ["Alertmanager", "render_config"]

_MARK = "# Written by `mlp up`; remove this line to keep your own edits.\n"


def render_config() -> dict[str, Any]:
    return {
        "route": {
            "receiver": "default",
            "group_by": ["alertname"],
            "group_wait": "10s",
            "group_interval": "1m",
            "repeat_interval": "4h",
        },
        "receivers": [{"name": "default"}],
    }


class Alertmanager(Service):
    name = "alertmanager"
    title = "Alertmanager"
    start_timeout = 30.0

    def launch(self, cfg: ServicesConfig, creds: Credentials) -> Launch:
        binary = find_binary(
            ("prometheus-alertmanager", "alertmanager"),
            cfg,
            "Alertmanager",
            "apt-get install -y prometheus-alertmanager",
        )
        port = cfg.ports["alertmanager"]
        home = cfg.dir(self.name)
        argv = [
            binary,
            f"--config.file={home / 'alertmanager.yml'}",
            f"--storage.path={home / 'data'}",
            f"--web.listen-address={cfg.host}:{port.number}",
            "--cluster.listen-address=",
        ]
        return Launch(argv=argv, ports=(PortUse(port, "Alertmanager"),), stop_timeout=10)

    def prepare(self, cfg: ServicesConfig, creds: Credentials) -> None:
        home = cfg.dir(self.name)
        (home / "data").mkdir(parents=True, exist_ok=True)
        path = home / "alertmanager.yml"
        if not path.exists() or path.read_text().startswith(_MARK):
            atomic_write_text(path, _MARK + yaml.safe_dump(render_config(), sort_keys=False))

    def healthy(self, cfg: ServicesConfig, creds: Credentials) -> bool:
        return http_status(f"{self.url(cfg)}/-/ready") == 200

    def url(self, cfg: ServicesConfig) -> str:
        return cfg.url("alertmanager")
