"""Rendering is pure: a DeploySpec in, the four documents out, every choice visible in them."""

from __future__ import annotations

import copy
import dataclasses
import json

import pytest
import yaml

from mlplatform.errors import DeployError, PromotionRejectedError
from mlplatform.serving.deploy import render, service_name, to_json, to_yaml

from ._specs import APPROVAL, DIGEST, governed, spec, unapproved, variant


def by_kind(docs):
    return {d["kind"]: d for d in docs}


def test_four_documents_in_apply_order_all_in_the_namespace():
    docs = render(spec(namespace="models"))
    assert [d["kind"] for d in docs] == [
        "ServingRuntime",
        "InferenceService",
        "HTTPRoute",
        "PodMonitor",
    ]
    assert {d["metadata"]["namespace"] for d in docs} == {"models"}


def test_rendering_is_deterministic_and_does_not_share_objects():
    # GIVEN the same spec twice WHEN rendered THEN the YAML is byte-identical
    first, second = render(spec(canary=10)), render(spec(canary=10))
    assert to_yaml(first) == to_yaml(second)
    # AND changing one document leaves the next rendering untouched (no shared constants)
    first[1]["spec"]["predictor"]["securityContext"]["runAsUser"] = 0
    assert render(spec(canary=10)) == second
    assert "&id" not in to_yaml(second)
    assert "*id" not in to_yaml(second)


def test_standard_mode_is_explicit_and_kserve_makes_no_route_of_its_own():
    isvc = by_kind(render(spec()))["InferenceService"]
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Standard"
    assert isvc["metadata"]["labels"]["networking.kserve.io/visibility"] == "cluster-local"


def test_the_predictor_runs_our_runtime_on_the_versions_storage_uri():
    docs = by_kind(render(spec("aws")))
    model = docs["InferenceService"]["spec"]["predictor"]["model"]
    assert model["modelFormat"] == {"name": "mlflow"}
    assert model["runtime"] == docs["ServingRuntime"]["metadata"]["name"] == "mlplatform-serving"
    assert model["storageUri"].startswith("s3://mlplatform-mlflow/1/models/")
    assert "name" not in model  # KServe refuses a top-level model name
    (container,) = docs["ServingRuntime"]["spec"]["containers"]
    assert container["name"] == "kserve-container"
    assert container["image"] == f"ghcr.io/mlplatform/mlplatform@{DIGEST}"
    assert container["args"][:4] == ["--model-dir", "/mnt/models", "--name", "{{.Name}}"]
    assert docs["ServingRuntime"]["spec"]["supportedModelFormats"][0]["autoSelect"] is False


def test_an_image_without_a_digest_keeps_its_tag():
    docs = by_kind(render(spec(image_digest=None)))
    (container,) = docs["ServingRuntime"]["spec"]["containers"]
    assert container["image"] == "ghcr.io/mlplatform/mlplatform:0.1.0"


def test_resources_replicas_and_service_account():
    predictor = by_kind(render(spec(min_replicas=2, max_replicas=7)))["InferenceService"]["spec"][
        "predictor"
    ]
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (2, 7)
    assert predictor["serviceAccountName"] == "kserve-storage"
    assert predictor["model"]["resources"] == {
        "requests": {"cpu": "500m", "memory": "1Gi"},
        "limits": {"cpu": "2", "memory": "2Gi"},
    }


def test_hpa_scales_on_cpu_and_keda_on_the_primary_request_rate():
    hpa = by_kind(render(spec()))["InferenceService"]
    assert hpa["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "hpa"
    (metric,) = hpa["spec"]["predictor"]["autoScaling"]["metrics"]
    assert metric["resource"] == {
        "name": "cpu",
        "target": {"type": "Utilization", "averageUtilization": 70},
    }
    keda = by_kind(render(spec(autoscaler="keda", min_replicas=1)))["InferenceService"]
    assert keda["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "keda"
    (metric,) = keda["spec"]["predictor"]["autoScaling"]["metrics"]
    assert metric["type"] == "External"
    query = metric["external"]["metric"]["query"]
    assert query.startswith("sum(rate(mlplatform_inference_requests_total{")
    assert 'pod=~"churn-model-predictor-.*"' in query  # the primary only, not the canaries
    assert metric["external"]["target"] == {"type": "Value", "value": "50"}
    assert keda["spec"]["predictor"]["minReplicas"] == 1


def test_restricted_security_context_on_pod_and_containers():
    docs = by_kind(render(spec(canary=5)))
    predictors = [docs["InferenceService"]["spec"]["predictor"]]
    predictors += [c["predictor"] for c in docs["InferenceService"]["spec"]["canary"]]
    containers = [p["model"] for p in predictors] + docs["ServingRuntime"]["spec"]["containers"]
    for p in predictors:
        assert p["securityContext"]["runAsNonRoot"] is True
        assert p["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for c in containers:
        sc = c["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert sc["runAsUser"] == 1000


def test_canary_is_a_named_spec_canary_entry_not_canary_traffic_percent():
    # GIVEN champion v3 and challenger v4 at 10 % WHEN rendered
    isvc = by_kind(render(spec(canary=10)))["InferenceService"]
    # THEN the canary is spec.canary[] with its own predictor name and model (name required)
    (entry,) = isvc["spec"]["canary"]
    assert entry["trafficPercent"] == 10
    assert entry["predictor"]["name"] == "v4"
    assert entry["predictor"]["model"]["name"] == "kserve-container"
    assert entry["predictor"]["model"]["storageUri"].endswith(f"m-{4:032x}/artifacts")
    assert entry["predictor"]["labels"]["mlplatform.io/model-version"] == "1.4.0"  # its semver
    # AND no autoscaling field on the canary, no canaryTrafficPercent anywhere
    assert not {"minReplicas", "maxReplicas", "autoScaling"} & set(entry["predictor"])
    assert "canaryTrafficPercent" not in json.dumps(isvc)


def test_the_route_splits_traffic_by_the_canary_weights():
    route = by_kind(render(spec(canary=10)))["HTTPRoute"]
    (rule,) = route["spec"]["rules"]
    assert [(b["name"], b["port"], b["weight"]) for b in rule["backendRefs"]] == [
        ("churn-model-predictor", 80, 90),
        ("churn-model-v4-predictor", 80, 10),
    ]
    assert route["spec"]["parentRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "name": "platform",
            "namespace": "mlplatform-system",
        }
    ]
    assert route["spec"]["hostnames"] == ["churn-model.models.example.com"]


def test_without_a_canary_the_route_sends_everything_to_the_primary():
    route = by_kind(render(spec()))["HTTPRoute"]
    assert route["spec"]["rules"][0]["backendRefs"] == [
        {"name": "churn-model-predictor", "port": 80, "weight": 100}
    ]
    assert "canary" not in by_kind(render(spec()))["InferenceService"]["spec"]


def test_two_canaries_share_the_traffic():
    base = spec(canary=10)
    second = variant("gcp", 5, alias="shadow", percent=5)
    both = type(base)(base.model, base.primary, base.options, (*base.canaries, second))
    weights = [b["weight"] for b in render(both)[2]["spec"]["rules"][0]["backendRefs"]]
    assert weights == [85, 10, 5]


def test_the_hostname_defaults_to_kserves_shape_and_accepts_a_template():
    assert render(spec(hostname=None))[2]["spec"]["hostnames"] == ["churn-model-kserve.example.com"]
    assert render(spec(hostname="{namespace}.{name}.ml.example.org"))[2]["spec"]["hostnames"] == [
        "kserve.churn-model.ml.example.org"
    ]
    with pytest.raises(DeployError, match="is not a hostname"):
        render(spec(hostname="Not A Host"))
    with pytest.raises(DeployError, match="is not a template"):
        render(spec(hostname="{model}.example.com"))


def test_the_pod_monitor_selects_on_the_kserve_key_not_its_value():
    monitor = by_kind(render(spec()))["PodMonitor"]
    selector = monitor["spec"]["selector"]
    assert selector["matchExpressions"] == [
        {"key": "serving.kserve.io/inferenceservice", "operator": "Exists"}
    ]
    assert selector["matchLabels"] == {"mlplatform.io/inference-service": "churn-model"}
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["kserve"]}
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert (endpoint["portNumber"], endpoint["path"]) == (8080, "/metrics")
    # AND every predictor pod (primary and canaries) carries the label it narrows by
    isvc = by_kind(render(spec(canary=10)))["InferenceService"]
    pods = [isvc["spec"]["predictor"], isvc["spec"]["canary"][0]["predictor"]]
    assert all(p["labels"]["mlplatform.io/inference-service"] == "churn-model" for p in pods)


def test_azure_pods_ask_for_workload_identity():
    isvc = by_kind(render(spec("azure", canary=10)))["InferenceService"]
    pods = [isvc["spec"]["predictor"], isvc["spec"]["canary"][0]["predictor"]]
    assert all(p["labels"]["azure.workload.identity/use"] == "true" for p in pods)
    gcp = by_kind(render(spec("gcp")))["InferenceService"]["spec"]["predictor"]
    assert "azure.workload.identity/use" not in gcp["labels"]


@pytest.mark.parametrize(
    ("model", "name"),
    [("churn-model", "churn-model"), ("Churn_Model v2", "churn-model-v2"), ("7up", "m-7up")],
)
def test_service_names_are_dns_labels(model, name):
    assert service_name(model) == name


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"cloud": "ibm"}, "unknown cloud 'ibm'"),
        ({"stage": "archived"}, "unknown stage 'archived'"),
        ({"autoscaler": "kpa"}, "unknown autoscaler 'kpa'"),
        ({"min_replicas": 3, "max_replicas": 2}, "is not a range"),
        ({"min_replicas": 0}, "cannot scale to zero"),
        ({"name": "x" * 46}, "cannot name an InferenceService"),
        ({"name": "Bad_Name"}, "cannot name an InferenceService"),
        ({"sample_fraction": 1.5}, "is not a share of the requests"),
        ({"sample_fraction": -0.1}, "is not a share of the requests"),
        ({"sample_fraction": 0.1, "sample_retention_days": 0}, "is not 1 to 3650"),
    ],
)
def test_what_cannot_be_deployed_is_a_deploy_error_with_a_hint(changes, message):
    base = spec()
    with pytest.raises(DeployError, match=message) as caught:
        render(dataclasses.replace(base, options=dataclasses.replace(base.options, **changes)))
    assert caught.value.hint != DeployError.default_hint  # says which flag or setting fixes it


def test_production_carries_the_registry_approval_author_semver_and_owner():
    # GIVEN version 3 as the registry records it: semver 1.3.0, owner, author, approved by ada
    facts = governed(3, owner="churn-team")
    isvc = by_kind(render(spec(stage="production", facts=facts)))["InferenceService"]
    annotations, labels = isvc["metadata"]["annotations"], isvc["metadata"]["labels"]
    # THEN the object carries the registry's approval and author, not a flag's
    assert annotations["mlplatform.io/approved-by"] == "ada"
    assert annotations["mlplatform.io/approval-ticket"] == "CHG-1042"
    assert annotations["mlplatform.io/approved-at"] == "2026-08-01T10:00:00+00:00"
    assert annotations["mlplatform.io/author"] == "alice"
    assert labels["mlplatform.io/model-stage"] == "production"
    assert labels["mlplatform.io/model-version"] == "1.3.0"
    assert labels["mlplatform.io/owner"] == "churn-team"  # the version's, not the settings'


def test_outside_production_no_approval_is_rendered_and_a_version_without_semver_is_n00():
    isvc = by_kind(render(spec(stage="staging", facts=None)))["InferenceService"]
    annotations, labels = isvc["metadata"]["annotations"], isvc["metadata"]["labels"]
    assert not {k for k in annotations if "approv" in k or k == "mlplatform.io/author"}
    assert labels["mlplatform.io/model-version"] == "3.0.0"
    assert labels["mlplatform.io/owner"] == "ml-team"  # the settings' owner
    staged = by_kind(render(spec(stage="staging")))["InferenceService"]
    assert "mlplatform.io/approved-by" not in staged["metadata"]["annotations"]
    assert staged["metadata"]["annotations"]["mlplatform.io/author"] == "alice"


@pytest.mark.parametrize(
    ("facts", "rules"),
    [
        ("unapproved", ["production.approval"]),
        (None, ["metadata.owner", "metadata.semver", "metadata.lineage", "production.gate"]),
        ("own approval", ["approval.four_eyes"]),
        ("bad ticket", ["approval.ticket"]),
    ],
)
def test_production_refuses_a_version_that_breaks_the_production_rules(facts, rules):
    given = {
        "unapproved": unapproved(3),
        None: None,
        "own approval": governed(3, author="ADA"),
        "bad ticket": governed(3, approvals=(dataclasses.replace(APPROVAL, ticket="chg 1"),)),
    }[facts]
    with pytest.raises(PromotionRejectedError) as caught:
        render(spec(stage="production", facts=given))
    for rule in rules:
        assert rule in caught.value.headline


def test_a_production_canary_must_be_approved_too():
    base = spec(stage="production", canary=10)
    canary = dataclasses.replace(base.canaries[0], facts=unapproved(4))
    with pytest.raises(PromotionRejectedError, match=r"production\.approval") as caught:
        render(dataclasses.replace(base, canaries=(canary,)))
    assert "churn-model v4" in (caught.value.details or "")


@pytest.mark.parametrize(("percent", "message"), [(0, "takes 0 %"), (100, "takes 100 %")])
def test_a_canary_takes_part_of_the_traffic(percent, message):
    with pytest.raises(DeployError, match=message):
        render(spec(canary=percent))


def test_a_canary_on_the_primarys_version_is_refused():
    base = spec()
    twin = variant("gcp", 3, alias="twin", percent=10)
    with pytest.raises(DeployError, match="canary twin is version 3, the same version as champion"):
        render(type(base)(base.model, base.primary, base.options, (twin,)))


def test_canaries_cannot_take_all_the_traffic():
    base = spec(canary=60)
    other = variant("gcp", 5, alias="shadow", percent=40)
    with pytest.raises(DeployError, match="take all of the traffic"):
        render(type(base)(base.model, base.primary, base.options, (*base.canaries, other)))


def test_a_version_without_a_run_fails_the_lineage_check():
    base = spec()
    orphan = variant("gcp", 3, run_id="", experiment_id="")
    with pytest.raises(DeployError, match="has no MLflow run"):
        render(type(base)(base.model, orphan, base.options))


def test_json_is_one_v1_list_of_the_same_documents():
    docs = render(spec(canary=10))
    listed = json.loads(to_json(docs))
    assert (listed["apiVersion"], listed["kind"]) == ("v1", "List")
    assert listed["items"] == docs
    assert list(yaml.safe_load_all(to_yaml(copy.deepcopy(docs)))) == docs
