"""Third-party clients against the server: KServe's own ``InferenceRESTClient`` (V1 and V2)
and Triton's ``tritonclient[http]`` (a V2 / Open Inference Protocol client), JSON and binary
tensors both ways. Each must get what the model predicts in-process on the same rows: the
numeric iris model (one [N, 4] tensor) and the churn model (mixed columns: one V2 input per
column, BYTES for the categorical ones; V1 rows as objects keyed by column name)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
import tritonclient.http as triton
from kserve import InferenceRESTClient, RESTConfig
from kserve.protocol.infer_type import InferInput, InferRequest

from mlplatform.serving import BackgroundServer, build_app, start_background

from .conftest import MODEL, config

OUTPUT = "output-0"


@pytest.fixture(scope="module")
def iris_server(iris_dir) -> Iterator[BackgroundServer]:
    with start_background(build_app(config("iris", str(iris_dir[0])))) as server:
        yield server


@pytest.fixture(scope="module")
def churn_server(registry) -> Iterator[BackgroundServer]:
    uri = f"models:/{MODEL}@champion"  # v1: the logistic regression
    with start_background(build_app(config(MODEL, uri, registry))) as server:
        yield server


@pytest.fixture
def iris(iris_server, iris_dir) -> tuple[str, str, np.ndarray, np.ndarray]:
    """(url, name, rows, what the in-process model predicts for them)."""
    _, model, x = iris_dir
    return iris_server.url, "iris", x, model.predict(x)


@pytest.fixture
def churn(churn_server, churn_models, churn_data) -> tuple[str, str, pd.DataFrame, np.ndarray]:
    rows = churn_data[1]
    return churn_server.url, MODEL, rows, churn_models["logreg"].predict(rows)


@pytest.fixture(params=["iris", "churn"])
def served(request) -> tuple[str, str, Any, np.ndarray]:
    return request.getfixturevalue(request.param)


def _columns(rows: Any) -> list[tuple[str, np.ndarray]]:
    """A V2 request's inputs: iris as one [N, 4] tensor, churn as one [N] input per column
    (strings as an object array, which both clients send as BYTES)."""
    if isinstance(rows, np.ndarray):
        return [("input-0", rows)]
    return [
        (str(name), column.to_numpy(dtype=object if column.dtype == object else None))
        for name, column in rows.items()
    ]


def _v1_instances(rows: Any) -> list[Any]:
    return rows.tolist() if isinstance(rows, np.ndarray) else rows.to_dict("records")


# ---- KServe's InferenceRESTClient ------------------------------------------------------------


def test_kserve_v1_client_gets_the_in_process_predictions(served):
    # GIVEN a served model, rows (lists for iris, objects keyed by column for churn) and the
    # in-process model's predictions for them
    url, name, rows, expected = served

    async def call() -> dict[str, Any]:
        async with InferenceRESTClient(RESTConfig(protocol="v1", retries=0)) as client:
            return await client.infer(url, {"instances": _v1_instances(rows)}, model_name=name)

    # WHEN KServe's REST client sends them with the V1 protocol
    answer = asyncio.run(call())

    # THEN it gets the same predictions
    np.testing.assert_array_equal(answer["predictions"], expected)


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_kserve_v2_client_gets_the_in_process_predictions(served, binary):
    # GIVEN a served model and a V2 request for its rows, tensors as JSON or as binary data
    url, name, rows, expected = served
    inputs = []
    for column, values in _columns(rows):
        tensor = InferInput(
            column, list(values.shape), "BYTES" if values.dtype == object else "FP64"
        )
        tensor.set_data_from_numpy(values, binary_data=binary)
        inputs.append(tensor)
    request = InferRequest(name, inputs, parameters={"binary_data_output": binary})

    async def call() -> Any:
        async with InferenceRESTClient(RESTConfig(protocol="v2", retries=0)) as client:
            return await client.infer(url, request, model_name=name)

    # WHEN KServe's REST client sends it with the V2 protocol
    answer = asyncio.run(call())

    # THEN its one output holds the in-process predictions
    (output,) = answer.outputs
    assert output.name == OUTPUT
    np.testing.assert_array_equal(output.as_numpy(), expected)


# ---- Triton's tritonclient[http] -----------------------------------------------------------


def _triton(url: str) -> triton.InferenceServerClient:
    return triton.InferenceServerClient(url.removeprefix("http://"))


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_tritonclient_gets_the_in_process_predictions(served, binary):
    # GIVEN a served model and Triton's inputs for its rows, JSON or binary, and the output
    # asked for in the same encoding
    url, name, rows, expected = served
    inputs = []
    for column, values in _columns(rows):
        tensor = triton.InferInput(
            column, list(values.shape), triton.np_to_triton_dtype(values.dtype)
        )
        tensor.set_data_from_numpy(values, binary_data=binary)
        inputs.append(tensor)
    outputs = [triton.InferRequestedOutput(OUTPUT, binary_data=binary)]

    # WHEN tritonclient sends them
    result = _triton(url).infer(name, inputs, outputs=outputs, request_id="req-1")

    # THEN the output holds the in-process predictions, in the encoding it asked for, with the
    # request's id echoed
    np.testing.assert_array_equal(result.as_numpy(OUTPUT), expected)
    response = result.get_response()
    assert response["id"] == "req-1"
    (output,) = response["outputs"]
    assert ("binary_data_size" in output.get("parameters", {})) is binary


def test_tritonclient_without_outputs_gets_binary_outputs(iris):
    # GIVEN iris rows as binary FP64 and no outputs named (tritonclient then asks for every
    # output as binary data with the request's binary_data_output)
    url, name, rows, expected = iris
    tensor = triton.InferInput("input-0", list(rows.shape), "FP64")
    tensor.set_data_from_numpy(rows)

    # WHEN tritonclient sends them
    result = _triton(url).infer(name, [tensor])

    # THEN the output comes back as binary data and holds the in-process predictions
    (output,) = result.get_response()["outputs"]
    assert output["parameters"]["binary_data_size"] == expected.size * expected.itemsize
    np.testing.assert_array_equal(result.as_numpy(OUTPUT), expected)


def test_tritonclient_sees_a_live_ready_server_and_model(served):
    # GIVEN a served model
    url, name, _, _ = served
    client = _triton(url)

    # WHEN tritonclient asks for the server's and the model's health
    # THEN all are live and ready, and a model the server does not serve is not ready
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready(name)
    assert not client.is_model_ready("no-such-model")


def test_tritonclient_reads_metadata_that_matches_the_answers(churn):
    # GIVEN the churn model, trained on numeric columns and two categorical ones
    url, name, rows, _ = churn
    client = _triton(url)

    # WHEN tritonclient reads the server's and the model's metadata, then infers
    server = client.get_server_metadata()
    metadata = client.get_model_metadata(name)
    inputs = []
    for column, values in _columns(rows.head(3)):
        tensor = triton.InferInput(
            column, list(values.shape), triton.np_to_triton_dtype(values.dtype)
        )
        tensor.set_data_from_numpy(values)
        inputs.append(tensor)
    answer = client.infer(name, inputs).get_response()

    # THEN the metadata names every column with its V2 datatype (BYTES for the categorical
    # ones) and the output with the datatype the answer really has, then the classifier's
    # probabilities (answered only when asked for)
    assert "binary_tensor_data" in server["extensions"]
    assert metadata["name"] == name
    assert metadata["versions"] == ["1"]
    datatypes = {i["name"]: i["datatype"] for i in metadata["inputs"]}
    expected = {str(c): "BYTES" if rows[c].dtype == object else "FP64" for c in rows.columns}
    assert datatypes == expected
    declared, probabilities = metadata["outputs"]
    (answered,) = answer["outputs"]
    assert (declared["name"], declared["datatype"]) == (answered["name"], answered["datatype"])
    assert probabilities == {"name": "probabilities", "datatype": "FP64", "shape": [-1, 2]}


def test_kserve_client_sees_a_live_ready_model(iris):
    # GIVEN the iris server
    url, name, _, _ = iris

    async def call() -> tuple[bool, bool, bool, bool]:
        async with InferenceRESTClient(RESTConfig(protocol="v2", retries=0)) as v2:
            live, ready = await v2.is_server_live(url), await v2.is_server_ready(url)
            model = await v2.is_model_ready(url, name)
        async with InferenceRESTClient(RESTConfig(protocol="v1", retries=0)) as v1:
            return live, ready, model, await v1.is_model_ready(url, name)

    # WHEN KServe's client asks for health with V2 and V1
    # THEN the server is live and ready and so is the model, in both protocols
    assert asyncio.run(call()) == (True, True, True, True)
