"""The real model server for the live alert test: `mlp serve` on a model folder, started as a
subprocess on the team profile, so it registers itself for scraping as users' servers do.

``flaky_model`` saves an MLflow pyfunc model (models-from-code) that raises on a negative
input: the server answers those requests 500, and its ``/metrics`` count them in
``mlplatform_inference_requests_total{model,code}``, the series HighInferenceErrorRate uses.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd

from mlplatform.services import registered_targets
from mlplatform.services._process import wait_until

_CODE = '''
import mlflow.pyfunc
import pandas as pd


class Flaky(mlflow.pyfunc.PythonModel):
    """Doubles x; a negative x is an error (the server answers 500)."""

    def predict(self, context, model_input, params=None):
        if (model_input["x"] < 0).any():
            raise RuntimeError("the model broke on a negative input")
        return model_input["x"] * 2


mlflow.models.set_model(Flaky())
'''


def flaky_model(folder: Path) -> Path:
    """An MLflow pyfunc model folder (signature: one double column ``x``)."""
    import mlflow.pyfunc
    from mlflow.models import infer_signature

    code = folder.parent / f"{folder.name}_code.py"
    code.write_text(_CODE)
    example = pd.DataFrame({"x": [1.0, 2.0]})
    mlflow.pyfunc.save_model(
        str(folder),
        python_model=str(code),
        signature=infer_signature(example, example["x"] * 2),
        input_example=example,
    )
    return folder


class ServedModel:
    """`mlp serve FOLDER --port 0` as a subprocess; ``port`` is read from the scrape target
    it registers; stopped with SIGTERM (it unregisters itself)."""

    def __init__(self, folder: Path, cwd: Path, env: dict[str, str], targets: Path) -> None:
        self.folder, self.cwd, self.env, self.targets = folder, cwd, env, targets
        self.name = folder.name
        self.target = f"{self.name}-primary"
        self.port = 0
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> ServedModel:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mlplatform", "serve", str(self.folder), "--port", "0"],
            cwd=self.cwd,
            # the flaky model is a pyfunc (it fails on purpose), which the server loads only
            # when the setting its refusal names allows it
            env={
                **self.env,
                "MLPLATFORM_SERVING__SAMPLE_FRACTION": "0",
                "MLPLATFORM_SERVING__ALLOW_PICKLE_MODELS": "true",
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        registered = wait_until(
            lambda: self.target in registered_targets(self.targets) or self.proc.poll() is not None,
            120,
            0.2,
        )
        if not registered or self.proc.poll() is not None:
            output = self.proc.communicate(timeout=10)[0] if self.proc.poll() is not None else ""
            raise AssertionError(f"mlp serve {self.folder} did not start:\n{output}")
        self.port = int(registered_targets(self.targets)[self.target].rsplit(":", 1)[1])
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.communicate()


class Load:
    """V1 requests to a served model from a thread, ``rate`` a second; a share ``bad`` of
    them carry a negative x (the flaky model fails those). Stopped by ``stop`` or after
    ``limit_s`` seconds (bounded, loopback only)."""

    def __init__(
        self, port: int, model: str, bad: float, rate: float = 20, limit_s: float = 90
    ) -> None:
        self.url = f"http://127.0.0.1:{port}/v1/models/{model}:predict"
        self.bad, self.rate, self.limit_s = bad, rate, limit_s
        self.codes: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + self.limit_s
        sent = 0
        while not self._stop.is_set() and time.monotonic() < deadline:
            sent += 1
            x = -1.0 if self.bad and (sent * self.bad) % 1 < self.bad else 1.0
            body = json.dumps({"instances": [{"x": x}]}).encode()
            request = urllib.request.Request(
                self.url, data=body, method="POST", headers={"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=5) as resp:
                    code = resp.status
            except urllib.error.HTTPError as exc:
                code = exc.code
            except OSError:
                code = 0
            self.codes[code] = self.codes.get(code, 0) + 1
            self._stop.wait(1 / self.rate)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


__all__ = ["Load", "ServedModel", "flaky_model"]
