"""Bad requests: each one gets the 4xx it deserves with a message that names what is wrong (the
field, row, shape, datatype or model), and the server answers good requests afterwards."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np
import orjson
import pytest

from mlplatform.serving import BackgroundServer, build_app, start_background

from .conftest import MODEL, config

MAX_BODY = 64 * 1024
V1 = "/v1/models/{name}:predict"
V2 = "/v2/models/{name}/infer"
IRIS_ROW = [5.1, 3.5, 1.4, 0.2]


@pytest.fixture(scope="module")
def iris_server(iris_dir) -> Iterator[BackgroundServer]:
    app = build_app(config("iris", str(iris_dir[0]), max_body_bytes=MAX_BODY))
    with start_background(app) as server:
        yield server


@pytest.fixture(scope="module")
def churn_server(registry) -> Iterator[BackgroundServer]:
    with start_background(build_app(config(MODEL, f"models:/{MODEL}@champion", registry))) as s:
        yield s


@pytest.fixture(scope="module")
def churn_row(churn_data) -> dict[str, Any]:
    """One good churn row as a V1 object (f00..f19 numbers, region and plan strings)."""
    return churn_data[1].head(1).to_dict("records")[0]


def tensor(data: Any, shape: list[int], datatype: str = "FP64", name: str = "x") -> dict[str, Any]:
    return {"name": name, "shape": shape, "datatype": datatype, "data": data}


def columns(row: dict[str, Any]) -> list[dict[str, Any]]:
    """``row`` as V2 inputs of shape [1], one per column."""
    return [
        tensor([v], [1], "BYTES" if isinstance(v, str) else "FP64", name=k) for k, v in row.items()
    ]


def with_plan(row: dict[str, Any], data: Any, shape: list[int], datatype: str = "BYTES") -> Any:
    """``row`` as V2 columns, with the "plan" column replaced."""
    inputs = [c for c in columns(row) if c["name"] != "plan"]
    return {"inputs": [*inputs, tensor(data, shape, datatype, name="plan")]}


def binary_body(json_inputs: list[dict[str, Any]], raw: dict[str, bytes]) -> dict[str, Any]:
    """httpx arguments of a binary-data-extension request: the JSON header, then the raw
    bytes of the inputs named in ``raw`` (their ``binary_data_size`` is set to match)."""
    for tensor_ in json_inputs:
        if tensor_["name"] in raw:
            tensor_.pop("data", None)
            tensor_["parameters"] = {"binary_data_size": len(raw[tensor_["name"]])}
    head = orjson.dumps({"inputs": json_inputs})
    return {
        "content": head + b"".join(raw.values()),
        "headers": {"inference-header-content-length": str(len(head))},
    }


def bytes_tensor(*values: bytes) -> bytes:
    return b"".join(struct.pack("<I", len(v)) + v for v in values)


def assert_refused(response: httpx.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    message = response.json()["error"]
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


def assert_still_serves(url: str, name: str, body: dict[str, Any]) -> None:
    assert httpx.get(f"{url}/v2/health/ready").json() == {"ready": True}
    assert httpx.post(f"{url}{V1.format(name=name)}", json=body).status_code == 200


# ---- the numeric iris model: one tensor of [N, 4] FP64 -----------------------------------

IRIS_V1: list[Any] = [
    pytest.param(b"{not json", 400, ["not valid JSON"], id="malformed-json"),
    pytest.param(b"", 400, ["body is empty"], id="empty-body"),
    pytest.param(b"\xff\xfe{}", 400, ["not valid JSON"], id="not-utf8"),
    pytest.param(b"[1, 2]", 400, ["JSON array, not an object"], id="body-not-object"),
    pytest.param(b'{"rows": []}', 400, ['no "instances"'], id="no-instances"),
    pytest.param(b'{"instances": []}', 400, ['"instances"', "non-empty"], id="no-rows"),
    pytest.param(b'{"instances": 7}', 400, ['"instances"', "list of rows"], id="rows-not-list"),
    pytest.param(
        b'{"instances": [[1, 2, 3]]}', 422, ["instances[0]", "3 values", "expects 4"], id="short"
    ),
    pytest.param(
        b'{"instances": [[1, 2, 3, 4], [1, 2, 3, 4, 5]]}',
        422,
        ["instances[1]", "5 values", "expects 4"],
        id="ragged",
    ),
    pytest.param(
        b'{"instances": [[1, 2, 3, "tall"]]}',
        422,
        ["input-0[3]", "row 0", "expected FP64", "string 'tall'"],
        id="string-for-number",
    ),
    pytest.param(
        b'{"instances": [[true, false, true, true]]}',
        422,
        ["input-0[0]", "expected FP64", "boolean"],
        id="boolean-for-number",
    ),
    pytest.param(
        b'{"instances": [[1, 2, 3, 4], [1, null, 3, 4]]}',
        422,
        ["input-0[1]", "row 1", "null"],
        id="null",
    ),
    pytest.param(b'{"instances": [[1, 2, 3, 1e999]]}', 400, ["not valid JSON"], id="infinity"),
    pytest.param(
        b'{"instances": [[1, 2, 3, [4]]]}', 422, ["input-0[3]", "array"], id="nested-array"
    ),
    pytest.param(
        b'{"instances": [[1, 2, 3, 4]], "parameters": null}',
        400,
        ["parameters must be a JSON object", "null"],
        id="parameters-null",
    ),
]


@pytest.mark.parametrize(("body", "status", "words"), IRIS_V1)
def test_bad_v1_body_is_refused_with_the_problem_named(iris_server, body, status, words):
    # GIVEN the iris server (one tensor of 4 FP64 values per row)
    url = iris_server.url

    # WHEN a V1 request has a bad body
    response = httpx.post(f"{url}{V1.format(name='iris')}", content=body)

    # THEN it is refused with its status and a message naming the problem
    assert_refused(response, status, *words)
    # AND the server still answers good requests
    assert_still_serves(url, "iris", {"instances": [IRIS_ROW]})


IRIS_V2: list[Any] = [
    pytest.param({}, 400, ['"inputs"', "non-empty list"], id="no-inputs"),
    pytest.param({"inputs": {"x": 1}}, 400, ['"inputs"'], id="inputs-not-list"),
    pytest.param({"inputs": [7]}, 400, ["inputs[0]", "number, not a tensor"], id="not-a-tensor"),
    pytest.param(
        {"inputs": [{"name": "x", "shape": [1, 4], "data": IRIS_ROW}]},
        400,
        ['inputs[0] has no "datatype"'],
        id="no-datatype",
    ),
    pytest.param(
        {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64"}]},
        400,
        ["input 'x'", 'no "data"'],
        id="no-data",
    ),
    pytest.param(
        {"inputs": [tensor(IRIS_ROW, [2, 4])]},
        422,
        ["input 'x'", "shape [2, 4] needs 8 values, got 4"],
        id="shape-disagrees-with-data",
    ),
    pytest.param(
        {"inputs": [tensor(IRIS_ROW[:3], [1, 3])]},
        422,
        ["input 'x'", "shape [1, 3]", "expects [N, 4]"],
        id="wrong-width",
    ),
    pytest.param(
        {"inputs": [tensor(IRIS_ROW, [1, 2, 2])]},
        422,
        ["input 'x'", "shape [1, 2, 2]", "expects [N, 4]"],
        id="three-dimensions",
    ),
    pytest.param(
        {"inputs": [tensor(IRIS_ROW, [1, -4])]},
        400,
        ["input 'x'", "shape [1, -4]", "non-negative"],
        id="negative-dimension",
    ),
    pytest.param(
        {"inputs": [tensor([], [2**62, 4, 0])]},
        422,
        ["input 'x'", "shape [4611686018427387904, 4, 0] is too large"],
        id="huge-empty-shape",
    ),
    pytest.param(
        {"inputs": [tensor([], [2**62, 4, 1, 1])]},
        422,
        ["input 'x'", "needs 18446744073709551616 values, got 0"],
        id="shape-overflowing-int64",
    ),
    pytest.param(
        {"inputs": [tensor([], [0, 4])]}, 422, ["the request has no rows"], id="zero-rows"
    ),
    pytest.param(
        {"inputs": [tensor(IRIS_ROW, [1, 4], "FP99")]},
        422,
        ["input 'x'", "unknown datatype 'FP99'", "FP64"],
        id="unknown-datatype",
    ),
    pytest.param(
        {"inputs": [tensor(["a", "b", "c", "d"], [1, 4])]},
        422,
        ["input 'x'", "datatype FP64", "string values"],
        id="strings-in-fp64",
    ),
    pytest.param(
        {"inputs": [tensor([True, False, True, True], [1, 4])]},
        422,
        ["input 'x'", "datatype FP64", "boolean values"],
        id="booleans-in-fp64",
    ),
    pytest.param(
        {"inputs": [tensor([1.5, 2, 3, 4], [1, 4], "INT64")]},
        422,
        ["input 'x'", "INT64", "fractions"],
        id="fractions-in-int64",
    ),
    pytest.param(
        {"inputs": [tensor(["a", "b", "c", "d"], [1, 4], "BYTES")]},
        422,
        ["input 'x' is BYTES", "expects numbers"],
        id="bytes-for-numeric-model",
    ),
    pytest.param(
        {"inputs": [tensor([[1, 2], [3]], [1, 4])]},
        422,
        ["input 'x'", "not a regular array"],
        id="ragged-data",
    ),
    pytest.param(
        {"inputs": [tensor(IRIS_ROW, [1, 4]), tensor(IRIS_ROW, [1, 4], name="y")]},
        422,
        ["takes one tensor", "x, y"],
        id="two-tensors",
    ),
    pytest.param(
        {"inputs": [tensor(IRIS_ROW, [1, 4])], "outputs": [{"name": "proba"}]},
        422,
        ["unknown output 'proba'", "output-0"],
        id="unknown-output",
    ),
    pytest.param(
        {"inputs": [tensor(IRIS_ROW, [1, 4])], "outputs": "output-0"},
        400,
        ['"outputs"', "list"],
        id="outputs-not-list",
    ),
    pytest.param(
        {"inputs": [tensor(IRIS_ROW, [1, 4])], "parameters": [1]},
        400,
        ["parameters must be a JSON object"],
        id="parameters-not-object",
    ),
    pytest.param(
        {"inputs": [tensor(IRIS_ROW, [1, 4])], "parameters": None},
        400,
        ["parameters must be a JSON object", "null"],
        id="parameters-null",
    ),
    pytest.param(
        {"inputs": [tensor(IRIS_ROW, [1, 4])], "outputs": None},
        400,
        ['"outputs"', "list"],
        id="outputs-null",
    ),
    pytest.param(
        {"inputs": [tensor(IRIS_ROW, [1, 4])], "id": 7},
        400,
        ['"id" must be a string', "number"],
        id="id-not-string",
    ),
    pytest.param(
        {"inputs": [{**tensor(IRIS_ROW, [1, 4]), "parameters": None}]},
        400,
        ["input 'x'", "parameters must be a JSON object", "null"],
        id="tensor-parameters-null",
    ),
]


@pytest.mark.parametrize(("body", "status", "words"), IRIS_V2)
def test_bad_v2_body_is_refused_with_the_problem_named(iris_server, body, status, words):
    # GIVEN the iris server
    url = iris_server.url

    # WHEN a V2 request's inputs do not fit the protocol or the model
    response = httpx.post(f"{url}{V2.format(name='iris')}", json=body)

    # THEN it is refused with its status and a message naming the input and the problem
    assert_refused(response, status, *words)
    assert_still_serves(url, "iris", {"instances": [IRIS_ROW]})


def _cut(request: dict[str, Any], size: int) -> dict[str, Any]:
    return {**request, "content": request["content"][:-size]}


def _header_length(value: str) -> dict[str, Any]:
    return {
        "content": b'{"inputs": []}',
        "headers": {"inference-header-content-length": value},
    }


IRIS_BINARY: list[Any] = [
    pytest.param(
        _header_length("999"),
        400,
        ["Inference-Header-Content-Length '999'", "14-byte body"],
        id="header-longer-than-body",
    ),
    pytest.param(
        _header_length("-3"), 400, ["Inference-Header-Content-Length '-3'"], id="header-negative"
    ),
    pytest.param(
        _cut(binary_body([tensor(None, [1, 4])], {"x": bytes(32)}), 8),
        400,
        ["input 'x'", "binary_data_size 32 runs past the body"],
        id="size-past-body",
    ),
    pytest.param(
        binary_body([tensor(None, [1, 4])], {"x": bytes(24)}),
        422,
        ["input 'x'", "needs 32 bytes of FP64, got 24"],
        id="too-few-bytes",
    ),
    pytest.param(
        binary_body([tensor(None, [1, 4])], {"x": np.array([1, 2, 3, np.inf]).tobytes()}),
        422,
        ["input 'x'", "infinite"],
        id="infinity",
    ),
]


@pytest.mark.parametrize(("request_", "status", "words"), IRIS_BINARY)
def test_bad_binary_tensor_is_refused_with_the_problem_named(iris_server, request_, status, words):
    # GIVEN the iris server
    url = iris_server.url

    # WHEN a request with the binary data extension has a header or tensor that does not fit
    response = httpx.post(f"{url}{V2.format(name='iris')}", **request_)

    # THEN it is refused, naming the header or input and the sizes that disagree
    assert_refused(response, status, *words)
    assert_still_serves(url, "iris", {"instances": [IRIS_ROW]})


# ---- the churn model: 20 numeric columns and 2 string columns ----------------------------

CHURN: list[Any] = [
    pytest.param(
        "v1", lambda r: {"instances": [{k: v for k, v in r.items() if k != "plan"}]},
        422, ["row 0 has no input 'plan'", "region, plan"], id="v1-missing-column",
    ),
    pytest.param(
        "v1", lambda r: {"instances": [{**r, "colour": "red"}]},
        422, ["row 0", "unknown input(s) 'colour'"], id="v1-unknown-column",
    ),
    pytest.param(
        "v1", lambda r: {"instances": [{**r, "region": 3}]},
        422, ["input 'region' row 0", "expected a string", "number"], id="v1-number-for-string",
    ),
    pytest.param(
        "v1", lambda r: {"instances": [{**r, "f07": "high"}]},
        422, ["input 'f07' row 0", "expected FP64", "string 'high'"], id="v1-string-for-number",
    ),
    pytest.param(
        "v1", lambda r: {"instances": [{**r, "plan": None}]},
        422, ["input 'plan' row 0 is null"], id="v1-null",
    ),
    pytest.param(
        "v1", lambda r: {"instances": [list(r.values())[:-1]]},
        422, ["instances[0] has 21 values", "expects 22", "f00"], id="v1-short-list-row",
    ),
    pytest.param(
        "v2", lambda r: {"inputs": [c for c in columns(r) if c["name"] != "region"]},
        422, ["missing input(s) 'region'"], id="v2-missing-column",
    ),
    pytest.param(
        "v2", lambda r: {"inputs": [*columns(r), tensor([1.0], [1], name="colour")]},
        422, ["unknown input(s) 'colour'", "f00"], id="v2-unknown-column",
    ),
    pytest.param(
        "v2", lambda r: with_plan(r, ["plus", "basic"], [2]),
        422, ["different numbers of rows", "plan: 2", "f00: 1"], id="v2-column-lengths-differ",
    ),
    pytest.param(
        "v2", lambda r: with_plan(r, [1.0], [1], "FP64"),
        422, ["input 'plan' row 0", "expected a string"], id="v2-number-for-string-column",
    ),
    pytest.param(
        "v2", lambda r: with_plan(r, ["plus"], [1, 1, 1]),
        422, ["input 'plan' has shape [1, 1, 1]", "a column is [N]"], id="v2-column-3d",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("protocol", "make", "status", "words"), CHURN)
def test_bad_churn_row_is_refused_with_the_column_named(
    churn_server, churn_row, protocol, make, status, words
):
    # GIVEN the churn server and a good row changed in one way
    url = churn_server.url
    path = (V1 if protocol == "v1" else V2).format(name=MODEL)

    # WHEN it is sent
    response = httpx.post(f"{url}{path}", json=make(churn_row))

    # THEN it is refused, naming the column and what is wrong with it
    assert_refused(response, status, *words)
    assert_still_serves(url, MODEL, {"instances": [churn_row]})


CHURN_BINARY: list[Any] = [
    pytest.param(
        bytes_tensor(b"plus")[:-1], 400, ["says 4 bytes; 3 are left"], id="element-cut-off"
    ),
    pytest.param(bytes_tensor(b"plus") + b"\x01", 400, ["cut-off length prefix"], id="prefix"),
    pytest.param(bytes_tensor(b"plus", b"basic"), 422, ["needs 1 BYTES elements, got 2"], id="n"),
    pytest.param(bytes_tensor(b"\xff\xfe"), 422, ["not UTF-8"], id="not-utf8"),
]


@pytest.mark.parametrize(("raw", "status", "words"), CHURN_BINARY)
def test_bad_binary_bytes_column_is_refused(churn_server, churn_row, raw, status, words):
    # GIVEN the churn server and a row whose "plan" column goes as a binary BYTES tensor
    url = churn_server.url
    request = binary_body(columns(churn_row), {"plan": raw})

    # WHEN its bytes are not length-prefixed UTF-8 strings, one per row
    response = httpx.post(f"{url}{V2.format(name=MODEL)}", **request)

    # THEN it is refused, naming the input and what is wrong with its bytes
    assert_refused(response, status, "input 'plan'", *words)
    assert_still_serves(url, MODEL, {"instances": [churn_row]})


# ---- routes, methods and sizes -----------------------------------------------------------

ROUTES: list[Any] = [
    pytest.param("POST", "/v1/models/nope:predict", 404, ["/v1/models/nope", "'iris'"], id="v1"),
    pytest.param("POST", "/v2/models/nope/infer", 404, ["/v2/models/nope", "'iris'"], id="v2"),
    pytest.param("GET", "/v2/models/nope", 404, ["/v2/models/nope", "'iris'"], id="metadata"),
    pytest.param("GET", "/v2/models/nope/ready", 404, ["/v2/models/nope"], id="ready"),
    pytest.param("GET", "/v3/anything", 404, ["no route /v3/anything"], id="unknown-route"),
    pytest.param("GET", "/v1/models/iris:predict", 405, ["GET", "use POST"], id="get-predict"),
    pytest.param("PUT", "/v2/models/iris/infer", 405, ["PUT", "use POST"], id="put-infer"),
    pytest.param("DELETE", "/v2/models/iris", 405, ["DELETE", "use GET"], id="delete-metadata"),
    pytest.param("POST", "/v2/health/ready", 405, ["POST", "use GET"], id="post-health"),
]


@pytest.mark.parametrize(("method", "path", "status", "words"), ROUTES)
def test_unknown_model_or_wrong_method_is_refused(iris_server, method, path, status, words):
    # GIVEN the server of the model "iris"
    url = iris_server.url

    # WHEN a request names another model or route, or uses the wrong method
    response = httpx.request(method, f"{url}{path}", json={"instances": [IRIS_ROW]})

    # THEN it gets 404 naming the model the server serves, or 405 naming the allowed method
    assert_refused(response, status, *words)
    if status == 405:
        assert response.headers["allow"] == words[-1].removeprefix("use ")
    assert_still_serves(url, "iris", {"instances": [IRIS_ROW]})


def _rows_over_the_limit() -> bytes:
    rows = ",".join(["[5.1, 3.5, 1.4, 0.2]"] * (MAX_BODY // 20 + 1))
    return f'{{"instances": [{rows}]}}'.encode()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_body_over_the_limit_is_refused_with_413(iris_server, chunked):
    # GIVEN the iris server that takes bodies of at most MAX_BODY bytes, and a valid V1 body
    # just over it, sent with its length or in chunks without one
    url = iris_server.url
    body = _rows_over_the_limit()
    assert len(body) > MAX_BODY
    content: bytes | Iterator[bytes] = body
    if chunked:
        content = iter([body[i : i + 8192] for i in range(0, len(body), 8192)])

    # WHEN it is sent
    response = httpx.post(f"{url}{V1.format(name='iris')}", content=content)

    # THEN it is refused with 413 naming the limit
    assert_refused(response, 413, f"{MAX_BODY}", "fewer rows")
    assert_still_serves(url, "iris", {"instances": [IRIS_ROW]})


def test_a_huge_declared_length_is_refused_before_the_body_is_read(iris_server):
    # GIVEN a request that declares a 10 GB body but sends a few bytes
    host, port = iris_server.url.removeprefix("http://").split(":")
    request = (
        f"POST {V1.format(name='iris')} HTTP/1.1\r\nHost: {host}\r\n"
        "Content-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n{"
    ).encode()

    # WHEN it is sent on a raw socket
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        answer = sock.recv(65536).decode()

    # THEN the server answers 413 at once, without waiting for the 10 GB
    assert answer.startswith("HTTP/1.1 413"), answer
    assert "the limit is 65536" in answer
    assert_still_serves(iris_server.url, "iris", {"instances": [IRIS_ROW]})


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_rows_the_model_cannot_take_fail_alone(churn_server, churn_row):
    # GIVEN the churn server and a row that fits the signature but not the model: a value so
    # large that the model's scaler overflows to infinity
    url = churn_server.url
    path = f"{url}{V1.format(name=MODEL)}"
    bad = {"instances": [{**churn_row, "f03": 1.7976931348623157e308}]}
    good = {"instances": [churn_row]}

    # WHEN it is sent alone, then among good requests sent at the same time (so that the
    # batcher predicts them together)
    alone = httpx.post(path, json=bad)
    with ThreadPoolExecutor(16) as pool:
        together = list(pool.map(lambda body: httpx.post(path, json=body), [good] * 15 + [bad]))

    # THEN it gets a 4xx naming the model's complaint, and only it: the good requests batched
    # with it get their predictions
    assert_refused(alone, 422, "infinity")
    assert_refused(together[-1], 422, "infinity")
    assert [r.status_code for r in together[:-1]] == [200] * 15
