"""Prometheus from Debian's ``prometheus`` package, with the platform's alert rules.

Scrape jobs: Prometheus itself, Alertmanager, the MLflow server (job ``mlflow``: the
MLflowDown alert reads its ``up``; it logs in as the MLflow admin, whose password ``prepare``
writes to ``prometheus/mlflow-password``, 0600), and ``model-servers`` from file-based
service discovery: every JSON file in ``prometheus/targets/`` (``targets.py`` writes them;
``mlp serve`` does) is picked up within seconds, without a restart. Rules are rendered from
``mlplatform.alerts`` into ``prometheus/rules/`` at every ``up`` and reloaded
(``--web.enable-lifecycle``).
"""

from __future__ import annotations

import urllib.request
from typing import Any

import yaml

from mlplatform.atomicfile import atomic_write_text
from mlplatform.services._process import http_status
from mlplatform.services.base import Launch, PortUse, Service, find_binary
from mlplatform.services.config import ServicesConfig
from mlplatform.services.credentials import MLFLOW_ADMIN, Credentials

__all__ = ["Prometheus", "platform_rules_files", "render_config"]

MODEL_SERVERS_JOB = "model-servers"
MLFLOW_PASSWORD_FILE = "mlflow-password"  # the MLflow admin's (its /metrics needs an account)


def platform_rules_files() -> dict[str, str]:
    """The platform's rules file, rendered from ``mlplatform.alerts`` (file name -> YAML)."""
    from mlplatform.alerts import render_rules_file, rule_groups

    return {"platform.rules.yml": render_rules_file(rule_groups())}


def render_config(cfg: ServicesConfig) -> dict[str, Any]:
    """``prometheus.yml`` as data (pure)."""
    host = cfg.host

    def static(job: str, port: str) -> dict[str, Any]:
        return {"job_name": job, "static_configs": [{"targets": [f"{host}:{cfg.port(port)}"]}]}

    return {
        "global": {
            "scrape_interval": cfg.scrape_interval,
            "evaluation_interval": cfg.scrape_interval,
        },
        "rule_files": ["rules/*.yml"],
        "alerting": {
            "alertmanagers": [
                {"static_configs": [{"targets": [f"{host}:{cfg.port('alertmanager')}"]}]}
            ]
        },
        "scrape_configs": [
            static("prometheus", "prometheus"),
            static("alertmanager", "alertmanager"),
            {
                **static("mlflow", "mlflow"),
                "basic_auth": {"username": MLFLOW_ADMIN, "password_file": MLFLOW_PASSWORD_FILE},
            },
            {
                "job_name": MODEL_SERVERS_JOB,
                "file_sd_configs": [{"files": ["targets/*.json"], "refresh_interval": "5s"}],
            },
        ],
    }


class Prometheus(Service):
    name = "prometheus"
    title = "Prometheus"
    start_timeout = 30.0

    def launch(self, cfg: ServicesConfig, creds: Credentials) -> Launch:
        binary = find_binary(("prometheus",), cfg, "Prometheus", "apt-get install -y prometheus")
        port = cfg.ports["prometheus"]
        home = cfg.dir(self.name)
        argv = [
            binary,
            f"--config.file={home / 'prometheus.yml'}",
            f"--storage.tsdb.path={home / 'data'}",
            f"--web.listen-address={cfg.host}:{port.number}",
            "--web.enable-lifecycle",
            "--storage.tsdb.retention.time=15d",
        ]
        return Launch(argv=argv, ports=(PortUse(port, "Prometheus"),), cwd=home, stop_timeout=15)

    def prepare(self, cfg: ServicesConfig, creds: Credentials) -> None:
        home = cfg.dir(self.name)
        for sub in ("data", "rules", "targets"):
            (home / sub).mkdir(parents=True, exist_ok=True)
        rules = cfg.rules if cfg.rules is not None else platform_rules_files()
        for old in (home / "rules").glob("*.yml"):
            if old.name not in rules:
                old.unlink()
        for name, text in rules.items():
            atomic_write_text(home / "rules" / name, text)
        password = home / MLFLOW_PASSWORD_FILE
        atomic_write_text(password, creds.mlflow_admin_password, mode=0o600)
        config = yaml.safe_dump(render_config(cfg), sort_keys=False)
        atomic_write_text(home / "prometheus.yml", config)

    def healthy(self, cfg: ServicesConfig, creds: Credentials) -> bool:
        return http_status(f"{self.url(cfg)}/-/ready") == 200

    def reload(self, cfg: ServicesConfig) -> None:
        """Re-read the config and rules of a running Prometheus."""
        request = urllib.request.Request(f"{self.url(cfg)}/-/reload", method="POST")
        urllib.request.urlopen(request, timeout=10).close()

    def url(self, cfg: ServicesConfig) -> str:
        return cfg.url("prometheus")
