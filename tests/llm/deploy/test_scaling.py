"""How an LLM scales: fixed on an LLMInferenceService (KServe v0.20 runs at least one replica),
KEDA on vLLM's queue and KV cache on an InferenceService, and scale to zero behind the KEDA
HTTP add-on; and the rule every rendered scaler must keep: what may reach zero must wake on a
signal that exists at zero, never only on metrics of the pods it scales.

The wake rule is the offline autoscaling evaluator of tests/infrastructure/behaviour
(``_autoscaling``), the one that judges the platform's other scalers.
"""

from __future__ import annotations

import copy
import itertools

import pytest

from infrastructure.behaviour._autoscaling import held, scalers, wakes_from_zero
from mlplatform.errors import DeployError
from mlplatform.llm.deploy import render
from mlplatform.serving.deploy import DeployOptions, DeploySpec, VariantSpec
from mlplatform.serving.deploy import render as render_model

from ._specs import CLOUDS, KINDS, RUN, canary, spec

ZERO = {"min_replicas": 0, "max_replicas": 2}
RANGE = {"min_replicas": 1, "max_replicas": 4}
MODES = {"fixed": {}, "two": {"min_replicas": 2}, "range": RANGE, "zero": ZERO}


def _kinds(docs):
    return [d["kind"] for d in docs]


def _of(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def asleep(docs) -> list[str]:
    """The scalers among ``docs`` that may reach zero and could not wake from it."""
    return [s.ident for s in scalers(docs) if not wakes_from_zero(s, {}, held(docs))]


def _all_llm_renders():
    """Every mode `mlp deploy llm` accepts, per cloud and kind, with and without a canary."""
    for cloud, kind, mode, canaries in itertools.product(CLOUDS, KINDS, MODES, ((), (canary(),))):
        try:
            yield (
                f"{cloud}-{kind}-{mode}-{len(canaries)}",
                render(spec(cloud, kind, max_model_len=2048, canaries=canaries, **MODES[mode])),
            )
        except DeployError:  # refused: nothing is applied, nothing to judge
            continue


# ---- the rule, on every rendered scaler ---------------------------------------------------
def test_no_rendered_llm_scaler_can_sleep_without_a_wake_signal():
    rendered = dict(_all_llm_renders())
    # the matrix reaches scale to zero and a KEDA range (else this test would judge nothing)
    found = [s for docs in rendered.values() for s in scalers(docs)]
    assert {s.minimum for s in found} == {0, 1}
    assert {name: asleep(docs) for name, docs in rendered.items() if asleep(docs)} == {}


def test_no_rendered_model_scaler_can_sleep_without_a_wake_signal():
    # the predictive renderer's scale to zero (`mlp deploy model --min-replicas 0`) too
    options = DeployOptions(cloud="aws", image="x", autoscaler="keda", min_replicas=0)
    docs = render_model(DeploySpec("churn", VariantSpec(3, "s3://b/m", RUN, "1"), options))
    assert any(s.minimum == 0 for s in scalers(docs))
    assert asleep(docs) == []


def test_the_rule_fails_a_scaler_that_reads_only_its_own_pods():
    # GIVEN the rendered scale-to-zero documents, which pass
    docs = render(spec("aws", "inferenceservice", **ZERO))
    assert asleep(docs) == []
    # WHEN the interceptor's trigger is taken away (vLLM's own queue and KV cache remain)
    bad = copy.deepcopy(docs)
    so = _of(bad, "ScaledObject")[0]
    so["spec"]["triggers"] = [t for t in so["spec"]["triggers"] if t["type"] == "prometheus"]
    # THEN the rule fails it: at zero pods those series do not exist
    assert asleep(bad) == ["ScaledObject/kserve/tinyllama-1-1b"]
    # AND a push trigger that names no rendered HTTPScaledObject does not count either
    bad = copy.deepcopy(docs)
    bad.remove(_of(bad, "HTTPScaledObject")[0])
    assert asleep(bad) == ["ScaledObject/kserve/tinyllama-1-1b"]
    # AND KEDA's default minimum is 0: leaving minReplicaCount out does not escape the rule
    bad = copy.deepcopy(docs)
    so = _of(bad, "ScaledObject")[0]
    del so["spec"]["minReplicaCount"]
    so["spec"]["triggers"] = so["spec"]["triggers"][1:]
    assert asleep(bad) == ["ScaledObject/kserve/tinyllama-1-1b"]


# ---- LLMInferenceService: fixed, at least one ---------------------------------------------
@pytest.mark.parametrize(
    ("changes", "message", "hint"),
    [
        ({"min_replicas": 0}, "KServe v0.20 runs at least one replica", "--kind inferenceservice"),
        (RANGE, "only through the Workload Variant Autoscaler", "--max-replicas 1"),
    ],
)
def test_an_llm_inference_service_cannot_scale(changes, message, hint):
    with pytest.raises(DeployError, match=message) as err:
        render(spec("gcp", **changes))
    assert hint in err.value.hint


def test_an_llm_inference_service_has_fixed_replicas_and_no_scaler():
    docs = render(spec("gcp", min_replicas=2))
    assert docs[0]["spec"]["replicas"] == 2
    assert "scaling" not in docs[0]["spec"]  # replicas and scaling exclude each other
    assert scalers(docs) == []


# ---- InferenceService: fixed, a KEDA range, zero ------------------------------------------
def test_fixed_replicas_have_no_scaler_and_kserve_makes_none():
    docs = render(spec("aws", "inferenceservice", min_replicas=2))
    assert _kinds(docs) == ["InferenceService", "PodMonitor", "HTTPRoute"]
    predictor = docs[0]["spec"]["predictor"]
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (2, 2)
    assert docs[0]["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "none"


def test_a_range_is_one_keda_scaler_on_vllms_queue_and_kv_cache():
    docs = render(spec("aws", "inferenceservice", target_waiting=2, **RANGE))
    assert _kinds(docs) == ["InferenceService", "PodMonitor", "HTTPRoute", "ScaledObject"]
    # KServe makes no HPA or ScaledObject of its own beside ours
    assert docs[0]["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "external"
    so = docs[3]["spec"]
    assert so["scaleTargetRef"]["name"] == "tinyllama-1-1b-predictor"
    assert (so["minReplicaCount"], so["maxReplicaCount"]) == (1, 4)
    queries = {t["metadata"]["query"]: t["metadata"]["threshold"] for t in so["triggers"]}
    pods = 'namespace="kserve",pod=~"tinyllama-1-1b-predictor-.*"'
    assert queries == {
        f"sum(vllm:num_requests_waiting{{{pods}}})": "2",
        f"avg(vllm:kv_cache_usage_perc{{{pods}}})": "0.8",
    }
    # AND the route goes straight to the predictor
    assert docs[2]["spec"]["rules"][0]["backendRefs"] == [
        {"name": "tinyllama-1-1b-predictor", "port": 80, "weight": 100}
    ]


def test_scale_to_zero_is_held_by_the_interceptor_and_scaled_by_one_scaled_object():
    docs = render(spec("gcp", "inferenceservice", **ZERO))
    assert _kinds(docs) == [
        "InferenceService", "PodMonitor", "HTTPRoute", "HTTPScaledObject", "ScaledObject"
    ]  # fmt: skip
    isvc, _, route, hso, so = docs
    assert isvc["spec"]["predictor"]["minReplicas"] == 0
    # the add-on routes and holds, and makes no ScaledObject of its own
    assert hso["metadata"]["annotations"] == {
        "httpscaledobject.keda.sh/skip-scaledobject-creation": "true"
    }
    assert hso["spec"]["headers"] == [
        {"name": "X-Gateway-Model-Name", "value": "tinyllama-1.1b-chat"}
    ]
    assert hso["spec"]["hosts"] == route["spec"]["hostnames"]
    assert hso["spec"]["scaleTargetRef"]["name"] == so["spec"]["scaleTargetRef"]["name"]
    # ours wakes on the interceptor's queue and sizes on vLLM's signals while pods run
    push, *prometheus = so["spec"]["triggers"]
    assert push == {
        "type": "external-push",
        "metadata": {
            "scalerAddress": "keda-add-ons-http-external-scaler.keda:9090",
            "httpScaledObject": hso["metadata"]["name"],
        },
    }
    assert [t["type"] for t in prometheus] == ["prometheus", "prometheus"]
    # AND the Gateway sends the served name to the interceptor, waiting long enough for a wake
    rule = route["spec"]["rules"][0]
    assert rule["backendRefs"] == [
        {"name": "keda-add-ons-http-interceptor-proxy", "namespace": "keda", "port": 8080,
         "weight": 100}
    ]  # fmt: skip
    assert rule["timeouts"] == {"request": "900s"}  # 600 s to wake + 300 s to answer


def test_a_canary_of_a_sleeping_model_is_refused():
    with pytest.raises(DeployError, match="canaries cannot scale to zero") as err:
        render(spec("gcp", "inferenceservice", canaries=(canary(),), **ZERO))
    assert "--min-replicas 1" in err.value.hint


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"min_replicas": -1}, "is not a range"),
        ({"min_replicas": 3, "max_replicas": 2}, "is not a range"),
        ({"min_replicas": 0, "max_replicas": 0}, "is not a range"),
    ],
)
def test_a_replica_range_must_hold_one(changes, message):
    with pytest.raises(DeployError, match=message):
        render(spec("aws", "inferenceservice", **changes))
