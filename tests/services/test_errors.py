"""What `mlp up` says when it cannot start: a port taken, a tool missing. Nothing is started."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from mlplatform.errors import ServiceError
from mlplatform.services import Port, Supervisor

from .conftest import cli_env, config, free_block, project_home, running


def mlp(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlplatform", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def listening(port: int) -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


def test_a_taken_port_is_named_with_the_setting_that_moves_it(tmp_path):
    with project_home() as home:
        cfg = config(home)
        port = cfg.port("prometheus")
        # GIVEN something else listens on Prometheus' port
        with listening(port):
            # WHEN `mlp up` runs
            result = mlp("up", "prometheus", "--no-watch", env=cli_env(cfg))
        # THEN it fails, naming the port and the setting to change, and starts nothing
        assert result.returncode == 2
        err = " ".join(result.stderr.split())
        assert f"port {port} on 127.0.0.1 is already in use" in err
        assert "services.prometheus_port" in err
        assert "MLPLATFORM_SERVICES__PROMETHEUS_PORT=<port>" in err
        assert "Traceback" not in result.stderr
        assert Supervisor(cfg).status() == []


def test_a_taken_internal_seaweedfs_port_names_the_base_port_setting():
    with project_home() as home:
        base = free_block(7)
        cfg = config(home)
        ports = {**cfg.ports, "seaweedfs_base": Port(base, "services.seaweedfs_base_port")}
        cfg = cfg.with_changes(ports=ports)
        with listening(base + 3), pytest.raises(ServiceError) as info:
            Supervisor(cfg).up(["seaweedfs"])
        assert f"port {base + 3}" in info.value.headline
        assert "SeaweedFS master.grpc" in info.value.headline
        assert "services.seaweedfs_base_port" in info.value.hint


def test_a_missing_tool_says_how_to_install_it_before_anything_starts(tmp_path):
    # GIVEN a search path without Prometheus or Alertmanager
    with project_home() as home:
        cfg = config(home, search_path=str(tmp_path))
        # WHEN the monitoring services are asked for
        with pytest.raises(ServiceError) as info:
            Supervisor(cfg).up(["alertmanager", "prometheus"])
        # THEN the error names the package and the install script; nothing runs
        assert "Alertmanager is not installed" in info.value.headline
        assert "scripts/install-services.sh" in info.value.hint
        assert "apt-get install -y prometheus-alertmanager" in info.value.hint
        assert not (cfg.home / "state.json").exists()


def test_status_and_logs_without_services_say_what_to_do():
    with project_home() as home:
        env = cli_env(config(home))
        result = mlp("status", env=env)
        assert result.returncode == 0
        assert "mlp up" in result.stdout
        result = mlp("logs", "mlflow", env=env)
        assert result.returncode == 2
        assert "no log for 'mlflow'" in result.stderr


def test_up_with_other_ports_while_services_run_asks_for_down_first():
    with project_home() as home:
        cfg = config(home)
        with running(cfg, ("alertmanager",)):
            # GIVEN Alertmanager runs WHEN `up` is asked again with another port for it
            moved = {**cfg.ports, "alertmanager": Port(cfg.port("alertmanager") + 1, "x")}
            with pytest.raises(ServiceError) as info:
                Supervisor(cfg.with_changes(ports=moved)).up(["alertmanager"])
            # THEN it refuses, and the running one is untouched
            assert "already run with other ports" in info.value.headline
            assert "mlp down" in info.value.hint
            assert Supervisor(cfg).status()[0].state == "running"
