"""The OpenAI endpoint on the platform Gateway: one host, one rule per served name (the
``X-Gateway-Model-Name`` header the body-based router writes from the body's ``model``),
backed by the Service KServe makes for each version, weighted between versions (canaries)."""

from __future__ import annotations

import pytest

from mlplatform.errors import DeployError
from mlplatform.llm.deploy import render

from ._specs import CANARY_RUN, CLOUDS, canary, spec


def _route(docs):
    (route,) = [d for d in docs if d["kind"] == "HTTPRoute"]
    return route


def _rule(docs):
    (rule,) = _route(docs)["spec"]["rules"]
    return rule


@pytest.mark.parametrize(
    ("kind", "backend"),
    [
        ("llminferenceservice", {"name": "tinyllama-1-1b-kserve-workload-svc", "port": 8000}),
        ("inferenceservice", {"name": "tinyllama-1-1b-predictor", "port": 80}),
    ],
)
def test_a_served_name_is_routed_to_the_service_kserve_makes(kind, backend):
    rule = _rule(render(spec("aws", kind)))
    assert rule["matches"] == [
        {
            "path": {"type": "PathPrefix", "value": "/v1"},
            "headers": [
                {"type": "Exact", "name": "X-Gateway-Model-Name", "value": "tinyllama-1.1b-chat"}
            ],
        }
    ]
    assert rule["backendRefs"] == [{**backend, "weight": 100}]
    assert rule["timeouts"] == {"request": "300s"}  # a long generation is not cut at 15 s


def test_several_models_share_one_host_on_the_platform_gateway():
    # GIVEN two LLMs deployed with the same hostname setting
    host = {"hostname": "{name}.models.example.com"}
    tiny = _route(render(spec("gcp", **host)))
    mistral = _route(render(spec("gcp", model="mistral-7b-instruct", max_model_len=4096, **host)))
    # THEN both routes attach to the platform Gateway on the one endpoint host
    for route in (tiny, mistral):
        assert route["spec"]["hostnames"] == ["llm.models.example.com"]
        assert route["spec"]["parentRefs"][0]["name"] == "platform"
        assert route["spec"]["parentRefs"][0]["namespace"] == "mlplatform-system"
    # AND each is its own object with a rule for its own served name only
    assert tiny["metadata"]["name"] != mistral["metadata"]["name"]
    names = [r["matches"][0]["headers"][0]["value"] for r in (*tiny["spec"]["rules"],
             *mistral["spec"]["rules"])]  # fmt: skip
    assert names == ["tinyllama-1.1b-chat", "mistral-7b-instruct"]


def test_a_bad_hostname_template_is_refused():
    with pytest.raises(DeployError, match="not a template"):
        render(spec("aws", hostname="{model}.example.com"))


# ---- canaries -----------------------------------------------------------------------------
@pytest.mark.parametrize("cloud", CLOUDS)
def test_a_canary_is_its_own_workload_weighted_on_the_same_served_name(cloud):
    # GIVEN version 3 as champion and version 4 as challenger with 10 %
    docs = render(spec(cloud, canaries=(canary(4, 10),)))
    primary, challenger = docs[0], docs[1]
    # THEN both versions are rendered, each with its own name, version and run
    assert primary["metadata"]["name"] == "tinyllama-1-1b"
    assert challenger["metadata"]["name"] == "tinyllama-1-1b-v4"
    assert challenger["metadata"]["labels"]["mlplatform.io/model-version"] == "1.4.0"
    assert challenger["metadata"]["labels"]["mlplatform.io/mlflow-run-id"] == CANARY_RUN
    assert challenger["metadata"]["annotations"]["mlplatform.io/model-alias"] == "challenger"
    # AND both answer to the one served name, and belong to the one deployment
    assert challenger["spec"]["model"]["name"] == primary["spec"]["model"]["name"]
    for doc in (primary, challenger):
        assert doc["metadata"]["labels"]["mlplatform.io/inference-service"] == "tinyllama-1-1b"
    # AND the rule splits that name's requests 90 / 10
    assert _rule(docs)["backendRefs"] == [
        {"name": "tinyllama-1-1b-kserve-workload-svc", "port": 8000, "weight": 90},
        {"name": "tinyllama-1-1b-v4-kserve-workload-svc", "port": 8000, "weight": 10},
    ]
    # AND one PodMonitor scrapes both (model_version tells them apart)
    monitors = [d for d in docs if d["kind"] == "PodMonitor"]
    assert len(monitors) == 1


def test_two_canaries_leave_the_primary_the_rest():
    docs = render(spec("aws", "inferenceservice", canaries=(canary(4, 10), canary(5, 5))))
    assert [b["weight"] for b in _rule(docs)["backendRefs"]] == [85, 10, 5]
    assert [b["name"] for b in _rule(docs)["backendRefs"]] == [
        "tinyllama-1-1b-predictor", "tinyllama-1-1b-v4-predictor", "tinyllama-1-1b-v5-predictor"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("canaries", "message"),
    [
        ((canary(3, 10),), "is version 3, the primary itself"),
        ((canary(4, 10), canary(4, 20)), "name one version twice"),
        ((canary(4, 60), canary(5, 40)), "take 100 %"),
        ((canary(4, 0),), "takes 0 %"),
    ],
)
def test_canaries_that_cannot_split_are_refused(canaries, message):
    with pytest.raises(DeployError, match=message) as caught:
        render(spec("gcp", canaries=canaries))
    assert "--canary" in caught.value.hint or "primary" in caught.value.hint


def test_a_canary_that_does_not_fit_is_refused_before_anything_is_rendered():
    from mlplatform.errors import CapacityError

    big = canary(4, 10, model="codellama-7b-instruct")
    with pytest.raises(CapacityError):
        render(spec("aws", canaries=(big,)))
