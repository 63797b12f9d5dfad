"""The same runtime inside KServe's own ModelServer (`--server kserve`): KServe's FastAPI
front end, our loader, signature checks, batcher and variants behind it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def kserve_server(iris_dir):
    path, model, x = iris_dir
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlplatform.serving", "--server", "kserve", "--model-dir",
         str(path), "--name", "iris", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{url}/v2/models/iris/ready", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    if proc.poll() is not None:
        pytest.fail(f"the KServe ModelServer exited:\n{proc.communicate()[0][-3000:]}")
    yield url, model, x
    proc.terminate()
    try:
        proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


def test_kserve_modelserver_serves_the_runtime_on_v1_and_v2(kserve_server):
    url, model, x = kserve_server
    # WHEN rows go through KServe's own V1 and V2 endpoints
    v1 = httpx.post(f"{url}/v1/models/iris:predict", json={"instances": x[:5].tolist()})
    v2 = httpx.post(
        f"{url}/v2/models/iris/infer",
        json={"inputs": [{"name": "input-0", "shape": [5, 4], "datatype": "FP64",
                          "data": x[:5].ravel().tolist()}]},
    )  # fmt: skip
    # THEN both answer what the model predicts in-process
    expected = model.predict(x[:5]).tolist()
    assert v1.status_code == 200, v1.text
    assert v1.json()["predictions"] == expected
    assert v2.status_code == 200, v2.text
    assert v2.json()["outputs"][0]["data"] == expected
    # AND a row of the wrong width is KServe's 400 with our message naming the problem
    bad = httpx.post(f"{url}/v1/models/iris:predict", json={"instances": [[1.0, 2.0]]})
    assert bad.status_code == 400
    assert "has 2 values; the model expects 4" in bad.text
