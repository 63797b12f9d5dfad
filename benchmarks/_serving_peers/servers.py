"""How the serving benchmark starts, readies and stops each server (benchmarks/serving.py).

One ``Spec`` per server, chosen by name from ``SPECS``: its launch command, readiness path
and the endpoints to load. Every server gets a free port on 127.0.0.1, its own folder (cwd,
log), ``OMP_NUM_THREADS=1`` and its venv's ``bin`` first on ``PATH``; all are launched at
once, then waited for, and stopped by PID (SIGTERM, then SIGKILL for what is left of each
process tree). Also the model every server serves, and the CPU of a process tree.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PEER_VENV = ROOT / ".venv-bench-serving"
OURS_PYTHON = Path(sys.executable)
PEER_PYTHON = PEER_VENV / "bin" / "python"
MODEL = "iris"
ROW = [5.1, 3.5, 1.4, 0.2]
V1_BODY: dict[str, Any] = {"instances": [ROW]}
V2_BODY: dict[str, Any] = {
    "inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": ROW}]
}
MLFLOW_BODY: dict[str, Any] = {"inputs": [ROW]}
OURS, KSERVE, HELLO = "mlplatform", "kserve", "hello"
# MLServer's adaptive batching: up to the top concurrency, waiting at most 5 ms to fill a batch.
MLSERVER_BATCH = {"max_batch_size": 64, "max_batch_time": 0.005}
READY_TIMEOUT_S = 240.0
STOP_GRACE_S = 5.0


class ServerError(RuntimeError):
    """A server is not installed, did not start, or did not answer its endpoints."""


class Log(Protocol):
    def print(self, *objects: Any) -> None: ...


# ---- CPU of a process tree ----------------------------------------------------------------
def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and all its descendants (live, and reaped children)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


# ---- servers --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelFiles:
    joblib: Path
    mlflow_dir: Path


@dataclass(frozen=True)
class Endpoint:
    protocol: str
    path: str
    body: dict[str, Any]


@dataclass(frozen=True)
class Spec:
    """How to start one server and what to measure on it."""

    name: str
    label: str
    ready_path: str
    endpoints: tuple[Endpoint, ...]
    launch: Callable[[int, ModelFiles, Path], list[str]]
    executable: Path
    env: tuple[tuple[str, str], ...] = ()


V1 = Endpoint("v1", f"/v1/models/{MODEL}:predict", V1_BODY)
V2 = Endpoint("v2", f"/v2/models/{MODEL}/infer", V2_BODY)


def _ours(port: int, files: ModelFiles, _: Path) -> list[str]:
    return [
        *(str(OURS_PYTHON), "-m", "mlplatform.serving", "--model-uri", str(files.mlflow_dir)),
        *("--name", MODEL, "--host", "127.0.0.1", "--port", str(port)),
    ]


def _kserve(port: int, files: ModelFiles, _: Path) -> list[str]:
    script = HERE / "kserve_stock.py"
    return [
        *(str(OURS_PYTHON), str(script), "--model-path", str(files.joblib)),
        *("--model_name", MODEL, "--http_port", str(port)),
    ]


def _mlflow(port: int, files: ModelFiles, _: Path) -> list[str]:
    mlflow = OURS_PYTHON.parent / "mlflow"
    return [
        *(str(mlflow), "models", "serve", "-m", str(files.mlflow_dir)),
        *("-h", "127.0.0.1", "-p", str(port), "--env-manager", "local"),
    ]


def mlserver_settings(
    port: int, grpc_port: int, metrics_port: int, model: Path, batching: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """MLServer's ``settings.json`` and ``model-settings.json`` (access log off: debug false)."""
    settings = {
        "debug": False,
        "host": "127.0.0.1",
        "http_port": port,
        "grpc_port": grpc_port,
        "metrics_port": metrics_port,
    }
    model_settings: dict[str, Any] = {
        "name": MODEL,
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": str(model)},
    }
    if batching:
        model_settings.update(MLSERVER_BATCH)
    return settings, model_settings


def _mlserver(batching: bool) -> Callable[[int, ModelFiles, Path], list[str]]:
    def launch(port: int, files: ModelFiles, folder: Path) -> list[str]:
        settings, model = mlserver_settings(port, free_port(), free_port(), files.joblib, batching)
        (folder / "settings.json").write_text(json.dumps(settings))
        (folder / "model-settings.json").write_text(json.dumps(model))
        return [str(PEER_VENV / "bin" / "mlserver"), "start", str(folder)]

    return launch


def _hello(port: int, _: ModelFiles, __: Path) -> list[str]:
    return [str(OURS_PYTHON), str(HERE / "hello_asgi.py"), "--port", str(port)]


MLSERVER_NOTE = "MLServer + mlserver-sklearn"
SPECS = {
    s.name: s
    for s in (
        Spec(OURS, "mlplatform runtime", "/v2/health/ready", (V1, V2), _ours, OURS_PYTHON),
        Spec(KSERVE, "stock KServe Model", "/v2/health/ready", (V1, V2), _kserve, OURS_PYTHON),
        Spec(
            "mlflow",
            "mlflow models serve",
            "/ping",
            (Endpoint("mlflow", "/invocations", MLFLOW_BODY),),
            _mlflow,
            OURS_PYTHON,
            (("UVICORN_ACCESS_LOG", "false"),),
        ),
        Spec("mlserver", MLSERVER_NOTE, "/v2/health/ready", (V2,), _mlserver(False), PEER_PYTHON),
        Spec(
            "mlserver-batching",
            f"{MLSERVER_NOTE}, adaptive batching",
            "/v2/health/ready",
            (V2,),
            _mlserver(True),
            PEER_PYTHON,
        ),
        Spec(
            HELLO,
            "floor: hello-world ASGI",
            "/",
            (Endpoint("-", "/", V1_BODY),),
            _hello,
            OURS_PYTHON,
        ),
    )
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Running:
    spec: Spec
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def log_tail(self, lines: int = 15) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.strip().splitlines()[-lines:])


def server_env(spec: Spec) -> dict[str, str]:
    env = dict(os.environ)
    bin_dir = str(spec.executable.parent)  # `mlflow models serve` runs `uvicorn` off PATH
    env.update(
        {"OMP_NUM_THREADS": "1", "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"},
    )
    env.update(dict(spec.env))
    return env


def launch(spec: Spec, files: ModelFiles, work: Path) -> Running:
    if not spec.executable.exists():
        raise ServerError(f"{spec.executable} is missing: run `make install-bench-serving`")
    folder = work / spec.name
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = spec.launch(port, files, folder)
    log = folder / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, cwd=folder, env=server_env(spec), stdout=out, stderr=subprocess.STDOUT
        )
    return Running(spec, port, proc, log)


def _get(url: str, body: dict[str, Any] | None = None) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_ready(server: Running, timeout_s: float = READY_TIMEOUT_S) -> None:
    """Poll the readiness path, then check that every endpoint answers 200."""
    deadline = time.monotonic() + timeout_s
    while True:
        if server.proc.poll() is not None:
            raise ServerError(f"exited {server.proc.returncode}:\n{server.log_tail()}")
        with suppress(OSError):  # URLError is an OSError: not listening yet
            if _get(server.url(server.spec.ready_path))[0] == 200:
                break
        if time.monotonic() > deadline:
            raise ServerError(f"not ready after {timeout_s:.0f} s:\n{server.log_tail()}")
        time.sleep(0.25)
    for endpoint in server.spec.endpoints:
        status, body = _get(server.url(endpoint.path), endpoint.body)
        if status != 200:
            raise ServerError(f"{endpoint.path} answered {status}: {body[:300]!r}")


def stop_all(servers: Sequence[Running]) -> None:
    """SIGTERM each server, wait, then SIGKILL what is left of its process tree (by PID)."""
    procs: list[psutil.Process] = []
    for server in servers:
        try:
            root = psutil.Process(server.proc.pid)
            procs += [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        if server.proc.poll() is None:
            server.proc.send_signal(signal.SIGTERM)
    _, alive = psutil.wait_procs(procs, timeout=STOP_GRACE_S)
    for proc in alive:
        with suppress(psutil.NoSuchProcess):
            proc.kill()
    for server in servers:
        with suppress(subprocess.TimeoutExpired):
            server.proc.wait(timeout=STOP_GRACE_S)


def start_all(
    names: Sequence[str], files: ModelFiles, work: Path, log: Log
) -> tuple[list[Running], dict[str, str]]:
    """Launch every server at once, then wait for each; failed ones are stopped and reported."""
    launched: list[Running] = []
    failed: dict[str, str] = {}
    for name in names:
        try:
            launched.append(launch(SPECS[name], files, work))
        except ServerError as exc:
            failed[name] = str(exc)
    ready = []
    for server in launched:
        log.print(f"waiting for {server.spec.name} on port {server.port} ...")
        try:
            wait_ready(server)
            ready.append(server)
        except ServerError as exc:
            failed[server.spec.name] = str(exc)
    stop_all([s for s in launched if s not in ready])
    return ready, failed


def idle_cpu_percent(servers: Sequence[Running], seconds: float = 2.0) -> float:
    """CPU the idle servers use together, in % of one core (they all run during each run)."""
    before = sum(tree_cpu_seconds(s.proc.pid) for s in servers)
    time.sleep(seconds)
    after = sum(tree_cpu_seconds(s.proc.pid) for s in servers)
    return 100.0 * (after - before) / seconds


def train_and_save(work: Path) -> tuple[Any, ModelFiles]:
    """Iris LogisticRegression, saved as joblib and as an MLflow model (tensor signature)."""
    import joblib
    import mlflow.sklearn
    import numpy as np
    import sklearn
    from mlflow.models import infer_signature
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True)
    x = np.asarray(x, dtype=np.float64)
    model = LogisticRegression(max_iter=1000).fit(x, y)
    files = ModelFiles(work / "model.joblib", work / "mlflow-model")
    joblib.dump(model, files.joblib)
    mlflow.sklearn.save_model(
        model,
        str(files.mlflow_dir),
        signature=infer_signature(x, model.predict(x)),
        pip_requirements=[f"scikit-learn=={sklearn.__version__}"],
    )
    return model, files
