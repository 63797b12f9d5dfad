"""Versioned V2 routes (``/v2/models/NAME/versions/N/...``) answer with version N or 404,
whatever the canary split would have chosen."""

from __future__ import annotations

from typing import Any

import httpx
import pandas as pd
import pytest

from mlplatform.serving import ServerConfig, VariantConfig

from .conftest import MODEL


def v2_body(rows: pd.DataFrame) -> dict[str, Any]:
    """One V2 input per column: FP64 for numbers, BYTES for the categorical columns."""
    return {
        "inputs": [
            {
                "name": str(name),
                "shape": [len(rows)],
                "datatype": "BYTES" if column.dtype == object else "FP64",
                "data": column.tolist(),
            }
            for name, column in rows.items()
        ]
    }


@pytest.fixture(scope="module")
def canary_server(registry):
    """champion (v1) with a 1 % challenger (v2): unversioned requests land on v1."""
    from mlplatform.serving import build_app, start_background

    config = ServerConfig(
        MODEL,
        (
            VariantConfig("champion", f"models:/{MODEL}@champion"),
            VariantConfig("challenger", f"models:/{MODEL}@challenger", 1),
        ),
        registry,
    )
    with start_background(build_app(config)) as server:
        yield server


@pytest.mark.parametrize(("version", "estimator"), [("1", "logreg"), ("2", "gbm")])
def test_a_versioned_infer_is_answered_by_that_version(
    canary_server, churn_data, churn_models, version, estimator
):
    rows = churn_data[1].head(10)
    # WHEN 20 requests name the version (v2 gets 1 % of unversioned traffic)
    answers = [
        httpx.post(
            f"{canary_server.url}/v2/models/{MODEL}/versions/{version}/infer", json=v2_body(rows)
        )
        for _ in range(20)
    ]
    # THEN every one is answered by that version, with its predictions
    assert {a.status_code for a in answers} == {200}, answers[0].text
    assert {a.headers["x-mlp-model-version"] for a in answers} == {version}
    assert {a.json()["model_version"] for a in answers} == {version}
    expected = churn_models[estimator].predict(rows).tolist()
    assert answers[0].json()["outputs"][0]["data"] == expected


@pytest.mark.parametrize(("method", "suffix"), [("POST", "/infer"), ("GET", ""), ("GET", "/ready")])
def test_a_version_not_served_is_404(canary_server, churn_data, method, suffix):
    # WHEN a version the server does not serve is named
    url = f"{canary_server.url}/v2/models/{MODEL}/versions/3{suffix}"
    body = v2_body(churn_data[1].head(2)) if method == "POST" else None
    answer = httpx.request(method, url, json=body)
    # THEN 404 naming the versions it does serve
    assert answer.status_code == 404, answer.text
    error = answer.json()["error"]
    assert "does not serve version '3'" in error
    assert "1, 2" in error


def test_versioned_metadata_and_ready_describe_that_version(canary_server):
    base = f"{canary_server.url}/v2/models/{MODEL}/versions/2"
    meta = httpx.get(base)
    ready = httpx.get(f"{base}/ready")
    assert meta.status_code == 200
    assert meta.json()["versions"] == ["2"]
    assert ready.status_code == 200
    assert ready.json() == {"name": MODEL, "ready": True}
    # AND unversioned metadata lists both versions
    assert httpx.get(f"{canary_server.url}/v2/models/{MODEL}").json()["versions"] == ["1", "2"]


def test_other_versioned_paths_are_404(canary_server):
    for path in (f"/v2/models/{MODEL}/versions/", f"/v2/models/{MODEL}/versions/1/explain"):
        assert httpx.get(f"{canary_server.url}{path}").status_code == 404
