"""Every request ends with an answer or an error, and every error is counted.

A real server serves a real MLflow pyfunc model that misbehaves on purpose on marked rows:
it raises a ``RuntimeError``, raises a ``BaseException`` that escapes the batcher's model
error handling (the worker died on it before: every later request hung), returns what
cannot be serialized (an unexpected exception in the HTTP layer: a 500 the request metrics
did not count), or hangs past the request's deadline.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest
from mlflow.models import infer_signature
from prometheus_client.parser import text_string_to_metric_families

from mlplatform.serving import BatchConfig, ServerConfig, VariantConfig
from mlplatform.serving.trust import ModelTrust

NAME = "tricky"
RAISE, ABORT, UNSERIALIZABLE, HANG = 1001.0, 1002.0, 1003.0, 1004.0
HANG_S = 3.0


class ModelAbort(BaseException):
    """What a model's native code may raise that is not an ``Exception``."""


class Tricky(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
    """``x * 10``, except on the marked rows."""

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
        x = model_input["x"].to_numpy(dtype=float)
        if (x == RAISE).any():
            raise RuntimeError("the model broke on purpose")
        if (x == ABORT).any():
            raise ModelAbort("the model aborted on purpose")
        if (x == UNSERIALIZABLE).any():
            return np.array([{1.0} for _ in x], dtype=object)  # sets: not JSON
        if (x == HANG).any():
            time.sleep(HANG_S)
        return x * 10


@pytest.fixture(scope="module")
def tricky_dir(tmp_path_factory) -> Path:
    frame = pd.DataFrame({"x": [0.0, 5.0]})
    path = tmp_path_factory.mktemp("tricky") / "model"
    mlflow.pyfunc.save_model(
        str(path),
        python_model=Tricky(),
        signature=infer_signature(frame, np.array([0.0, 50.0])),
        input_example=frame,
        pip_requirements=[],
    )
    return path


def tricky_config(path: Path, **batch: float) -> ServerConfig:
    return ServerConfig(
        NAME,
        (VariantConfig("primary", str(path)),),
        batch=BatchConfig(**batch),  # type: ignore[arg-type]
        trust=ModelTrust(allow_pickle=True),  # a pyfunc model: trusted, it is ours
    )


def predict(url: str, x: float, timeout: float = 30) -> httpx.Response:
    body = {"instances": [{"x": x}]}
    return httpx.post(f"{url}/v1/models/{NAME}:predict", json=body, timeout=timeout)


def requests_total(url: str, code: str) -> float:
    """``mlplatform_inference_requests_total`` of the tricky model for ``code``, summed."""
    text = httpx.get(f"{url}/metrics").text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "mlplatform_inference_requests"
        for sample in family.samples
        if sample.name.endswith("_total")
        and sample.labels.get("model") == NAME
        and sample.labels.get("code") == code
    )


def test_a_batch_that_kills_the_worker_fails_alone_and_later_requests_answer(
    tricky_dir, start_server
):
    # GIVEN a server whose model raises a BaseException on a marked row
    server = start_server(tricky_config(tricky_dir))
    # WHEN that row is sent, alone and then among good requests sent at the same time
    alone = predict(server.url, ABORT)
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda x: predict(server.url, x), [1.0] * 7 + [ABORT]))
    # THEN its batch gets a 500 naming the error (the good ones batched with it may share it)
    assert alone.status_code == 500, alone.text
    assert "ModelAbort: the model aborted on purpose" in alone.json()["error"]
    assert together[-1].status_code == 500
    assert {r.status_code for r in together} <= {200, 500}
    # AND the worker lives on: every later request is answered (before: they all hung)
    later = [predict(server.url, float(i), timeout=20) for i in range(5)]
    assert [r.status_code for r in later] == [200] * 5
    assert [r.json()["predictions"][0] for r in later] == [0.0, 10.0, 20.0, 30.0, 40.0]
    batcher = server.app.service.primary.batcher
    assert batcher is not None
    assert batcher.crashes >= 2


def test_a_model_error_is_a_500_naming_it_and_counted(tricky_dir, start_server):
    # GIVEN a server whose model raises a RuntimeError on a marked row
    server = start_server(tricky_config(tricky_dir))
    before = requests_total(server.url, "500")
    # WHEN that row is sent, then a good one
    broken = predict(server.url, RAISE)
    good = predict(server.url, 2.0)
    # THEN the first is a 500 naming the model's error, counted; the next is answered
    assert broken.status_code == 500
    assert "the model broke on purpose" in broken.json()["error"]
    assert requests_total(server.url, "500") == before + 1
    assert good.status_code == 200
    assert good.json()["predictions"] == [20.0]


def test_an_unexpected_exception_is_a_500_counted_in_the_request_metrics(tricky_dir, start_server):
    # GIVEN a server whose model answers a marked row with something JSON cannot hold
    server = start_server(tricky_config(tricky_dir))
    before = requests_total(server.url, "500")
    # WHEN that row is sent (the HTTP layer raises where no handler expects it)
    answer = predict(server.url, UNSERIALIZABLE)
    # THEN it is a 500, and /metrics counts it with code="500" (the error-rate alert sees it)
    assert answer.status_code == 500
    assert answer.json() == {"error": "internal error; see the server log"}
    assert requests_total(server.url, "500") == before + 1
    # AND the server answers the next request
    assert predict(server.url, 3.0).json()["predictions"] == [30.0]


def test_a_hung_model_answers_503_at_the_deadline_and_recovers(tricky_dir, start_server):
    # GIVEN a server that gives a request 0.5 s in the queue and 0.5 s more for its answer
    server = start_server(tricky_config(tricky_dir, request_timeout_s=0.5, predict_timeout_s=0.5))
    # WHEN the model hangs (3 s) on one request, and others come while it hangs
    with ThreadPoolExecutor(4) as pool:
        hung = pool.submit(predict, server.url, HANG)
        time.sleep(0.2)  # the hung request is being predicted
        behind = list(pool.map(lambda x: predict(server.url, x), [1.0, 2.0, 3.0]))
        hung_answer = hung.result()
    # THEN the hung request gets a 503 with Retry-After naming the deadline, not a hang
    assert hung_answer.status_code == 503, hung_answer.text
    assert "no answer within 1 s" in hung_answer.json()["error"]
    assert "retry-after" in hung_answer.headers
    # AND the requests behind it each end with an error or an answer
    assert {r.status_code for r in behind} <= {200, 503}
    # AND once the model returns, requests are answered again
    for _ in range(100):
        answer = predict(server.url, 4.0)
        if answer.status_code == 200:
            break
        time.sleep(0.1)
    assert answer.json()["predictions"] == [40.0]
