"""The OpenAI endpoint's chain, offline: Gateway -> BBR -> the model's HTTPRoute rule.

GIVEN the platform-config chart's LLM endpoint objects (llm-endpoint.yaml: the
EnvoyExtensionPolicy, its Envoy Gateway Backend, the route ``llm-endpoint``) rendered per cloud,
and an HTTPRoute that ``mlp deploy llm`` renders (``mlplatform.llm.deploy``), WHEN they are compared
with each other, with the body-based-routing release (helm/versions.yaml, helm/common) and with
the rendered NetworkPolicies THEN each link of the chain holds: the policy validates against
Envoy Gateway's strict schema; it selects the deployment's route and the catch-all route, both on
the Gateway ``platform`` and the same host; its backend is the BBR Service and port the release
runs, needs no grant and is reachable from Envoy only; Envoy speaks TLS to BBR exactly when BBR,
started with the chart's flags, serves TLS; and the header the routes match is the one BBR sets.

Upstream facts (read at the tags, not observed on a cluster): GIE v1.5.0
``config/charts/body-based-routing`` (Service ``<bbr.name>`` on ``bbr.port`` 9004; ``--streaming``
in the container args; plugin ``body-field-to-header`` with ``headerName``; ``bbr.flags``
rendered as ``--<key>`` and ``"<value>"``), GIE v1.5.0 ``pkg/bbr/server`` (``--secure-serving``, a
pflag bool defaulting to true, makes a self-signed certificate at start and offers ALPN ``h2``
only), Envoy Gateway v1.9.0 ``internal/xds/translator/extproc.go`` (ext_proc filters are disabled
on the listener and enabled per route), ``internal/gatewayapi/ext_service.go`` and
``backendtlspolicy.go`` (an ext_proc backend is plaintext unless a Backend's ``tls`` or a
BackendTLSPolicy sets TLS; a Backend needs ``extensionApis.enableBackend``; without
``insecureSkipVerify`` a CA is required) and the EnvoyExtensionPolicy and Backend CRDs (vendored
in infrastructure/schemas/crd).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from mlplatform.llm.catalog import CATALOG
from mlplatform.llm.deploy import LlmDeployOptions, LlmDeploySpec, render
from mlplatform.llm.deploy.route import MODEL_HEADER, PATH_PREFIX

from ._tree import CLOUDS, HELM, catalog
from .behaviour import _rendered
from .behaviour._grants import extension_refs, permitted
from .behaviour._network import Endpoint, allowed, selects
from .behaviour._rbac import Request
from .behaviour._rbac import allowed as rbac_allowed
from .behaviour._rendered import all_docs, values, workloads
from .behaviour.test_rbac import PERSONAS, rbac_docs
from .kubernetes._manifests import built

Doc = dict[str, Any]
TEMPLATE = HELM / "charts" / "platform-config" / "templates" / "llm-endpoint.yaml"
DOMAIN = "example.com"  # Terraform generates the real one (modules/platform: domain)
ENVOY = Endpoint(
    "gateway (Envoy proxy)",
    "envoy-gateway-system",
    {"app.kubernetes.io/name": "envoy", "app.kubernetes.io/component": "proxy"},
)
# GIE v1.5.0 config/charts/body-based-routing/values.yaml, the keys the tests read
BBR_CHART_DEFAULTS = {"bbr": {"port": 9004, "flags": {"v": 3}, "tracing": {"enabled": False}}}
PFLAG_TRUE = {"1", "t", "T", "TRUE", "true", "True"}  # Go strconv.ParseBool
PFLAG_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


@cache
def _endpoint_docs(cloud: str) -> dict[str, Doc]:
    """llm-endpoint.yaml as helm would render it (labels from the include left out), by kind."""
    defaults = yaml.safe_load((_rendered.CHART / "values.yaml").read_text())
    vals = {**values("platform-config", cloud, defaults), "domain": DOMAIN}
    text = _rendered._INCLUDE.sub("", _rendered._COMMENT.sub("", TEMPLATE.read_text()))
    text = text.replace("{{ .Release.Namespace }}", catalog()["platform-config"]["namespace"])
    text = _rendered._VALUE.sub(lambda m: str(_rendered._lookup(vals, m[1])), text)
    assert "{{" not in text, "llm-endpoint.yaml uses a template action the tests cannot render"
    docs = {}
    for doc in yaml.safe_load_all(text):
        if doc["metadata"].get("labels") is None:
            doc["metadata"].pop("labels", None)
        docs[doc["kind"]] = doc
    assert set(docs) == {"EnvoyExtensionPolicy", "Backend", "HTTPRoute"}
    return docs


def _llm_route(cloud: str, kind: str = "llminferenceservice") -> Doc:
    """The HTTPRoute of `mlp deploy llm tinyllama-1.1b` with the cluster's host template."""
    options = LlmDeployOptions(
        cloud=cloud,
        kind=kind,
        owner="ml-team",
        concurrency=8,
        hostname=f"{{name}}.models.{DOMAIN}",
    )
    spec = LlmDeploySpec(
        CATALOG["tinyllama-1.1b"],
        options,
        registered="tinyllama-1.1b",
        version=3,
        run_id="6a1f0c9d2b7e4c38a5d1e0f9b8c7a6d5",  # the lineage policy wants a run
        experiment_id="1",
    )
    (route,) = [d for d in render(spec) if d["kind"] == "HTTPRoute"]
    return route


def _schema(crd_schemas: Path, doc: Doc) -> dict[str, Any]:
    group, _, version = doc["apiVersion"].rpartition("/")
    schema: dict[str, Any] = json.loads(
        (crd_schemas / group / f"{doc['kind'].lower()}_{version}.json").read_text()
    )
    return schema


def _bbr(cloud: str = "aws") -> tuple[str, str, int]:
    """The BBR Service (name, namespace, gRPC port) the pinned release runs."""
    release = catalog()["body-based-routing"]
    bbr = values("body-based-routing", cloud, BBR_CHART_DEFAULTS)["bbr"]
    return bbr["name"], release["namespace"], int(bbr["port"])


def _bbr_args(bbr: dict[str, Any]) -> list[str]:
    """BBR's container args as chart v1.5.0 (templates/bbr.yaml) renders them from ``bbr``:
    ``--streaming``, then each flag as ``--<key>`` and ``"<value>"`` (Go ranges over a map in
    key order), the plugins, and ``--tracing=<bool>``."""
    args = ["--streaming"]
    for key, value in sorted(bbr.get("flags", {}).items()):
        args += [f"--{key}", str(value).lower() if isinstance(value, bool) else str(value)]
    for plugin in bbr.get("plugins", []):
        spec = f"{plugin['type']}:{plugin['name']}"
        args += ["--plugin", f"{spec}:{json.dumps(plugin['json'])}" if "json" in plugin else spec]
    return [*args, f"--tracing={'true' if bbr['tracing']['enabled'] else 'false'}"]


def _pflag_bool(args: list[str], name: str, default: bool) -> bool:
    """A spf13/pflag boolean after parsing ``args``: ``--name`` alone is true (a bool flag
    takes no separate value, so ``--name false`` is true and a stray ``false`` argument);
    ``--name=<v>`` parses ``v``; the last one wins."""
    value = default
    for arg in args:
        if arg == f"--{name}":
            value = True
        elif arg.startswith(f"--{name}="):
            text = arg.partition("=")[2]
            assert text in PFLAG_TRUE | PFLAG_FALSE, f"pflag refuses {arg}"
            value = text in PFLAG_TRUE
    return value


def _bbr_serves_tls(cloud: str) -> bool:
    """``--secure-serving`` as BBR parses the args our values make the chart render."""
    bbr = values("body-based-routing", cloud, BBR_CHART_DEFAULTS)["bbr"]
    return _pflag_bool(_bbr_args(bbr), "secure-serving", default=True)


def _envoy_speaks_tls(docs: dict[str, Doc], others: list[Doc]) -> bool:
    """Envoy Gateway v1.9: an ext_proc backend gets TLS from a Backend's ``tls`` or from a
    BackendTLSPolicy (among ``others``) that targets it; otherwise Envoy calls it in plaintext."""
    (ref,) = extension_refs(docs["EnvoyExtensionPolicy"])
    backend_tls = ref.kind == "Backend" and "tls" in docs["Backend"]["spec"]
    policies = [
        t
        for d in others
        if d["kind"] == "BackendTLSPolicy" and d["metadata"].get("namespace") == ref.namespace
        for t in d["spec"]["targetRefs"]
        if (t.get("group", ""), t["kind"], t["name"]) == (ref.group, ref.kind, ref.name)
    ]
    return backend_tls or bool(policies)


# ---- the objects themselves ----------------------------------------------------------------
@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_endpoint_objects_validate_against_their_strict_schemas(
    cloud: str, crd_schemas: Path
) -> None:
    for doc in _endpoint_docs(cloud).values():
        validator = jsonschema.Draft7Validator(_schema(crd_schemas, doc))
        errors = [e.message for e in validator.iter_errors(doc)]
        assert errors == [], f"{doc['kind']}: {errors}"


def test_the_schema_rejects_a_misplaced_processing_mode(crd_schemas: Path) -> None:
    """The validation above can fail: processingMode belongs to an extProc entry."""
    policy = json.loads(json.dumps(_endpoint_docs("aws")["EnvoyExtensionPolicy"]))
    policy["spec"]["processingMode"] = policy["spec"]["extProc"][0].pop("processingMode")
    validator = jsonschema.Draft7Validator(_schema(crd_schemas, policy))
    assert any("processingMode" in e.message for e in validator.iter_errors(policy))


@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_chart_renders_the_endpoint_on_every_cloud(cloud: str) -> None:
    """platform-config is installed on every cloud and its renderer keeps these documents."""
    assert cloud in catalog()["platform-config"]["clouds"]
    assert cloud in catalog()["body-based-routing"]["clouds"]
    kept = {(d["kind"], d["metadata"]["name"]) for d in _rendered.chart_docs(cloud)}
    assert {(k, d["metadata"]["name"]) for k, d in _endpoint_docs(cloud).items()} <= kept


# ---- the chain -----------------------------------------------------------------------------
@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("kind", ["llminferenceservice", "inferenceservice"])
def test_the_policy_selects_the_model_route_and_the_catch_all(cloud: str, kind: str) -> None:
    docs, model_route = _endpoint_docs(cloud), _llm_route(cloud, kind)
    policy, catch_all = docs["EnvoyExtensionPolicy"], docs["HTTPRoute"]
    assert "targetRefs" not in policy["spec"]
    assert "targetRef" not in policy["spec"]
    (selector,) = policy["spec"]["targetSelectors"]
    assert (selector["group"], selector["kind"]) == ("gateway.networking.k8s.io", "HTTPRoute")
    for route in (model_route, catch_all):
        # a policy's targets are in its own namespace
        assert route["metadata"]["namespace"] == policy["metadata"]["namespace"]
        assert selects(selector, route["metadata"]["labels"]), route["metadata"]["name"]


@pytest.mark.parametrize("cloud", CLOUDS)
def test_no_other_route_runs_through_bbr(cloud: str) -> None:
    """BBR answers 400 to a body that is not JSON: UIs and predictive models stay off it."""
    (selector,) = _endpoint_docs(cloud)["EnvoyExtensionPolicy"]["spec"]["targetSelectors"]
    namespace = _endpoint_docs(cloud)["EnvoyExtensionPolicy"]["metadata"]["namespace"]
    others = [
        d["metadata"]["name"]
        for d in all_docs(cloud)
        if d["kind"] == "HTTPRoute"
        and d["metadata"].get("namespace") == namespace
        and d["metadata"]["name"] != "llm-endpoint"
    ]
    assert others, "no predictive route rendered: the check would be vacuous"
    selected = [
        d["metadata"]["name"]
        for d in all_docs(cloud)
        if d["kind"] == "HTTPRoute"
        and d["metadata"]["name"] in others
        and selects(selector, d["metadata"].get("labels", {}))
    ]
    assert selected == []


@pytest.mark.parametrize("cloud", CLOUDS)
def test_both_routes_are_on_the_platform_gateway_and_the_one_host(cloud: str) -> None:
    """The catch-all must be matched first on the model routes' host and listener: Envoy
    Gateway enables ext_proc per route, so a request that matches no targeted route never
    reaches BBR."""
    docs, model_route = _endpoint_docs(cloud), _llm_route(cloud)
    catch_all = docs["HTTPRoute"]
    gateway = {"name": "platform", "namespace": catalog()["platform-config"]["namespace"]}
    for route in (model_route, catch_all):
        (parent,) = route["spec"]["parentRefs"]
        assert {k: parent[k] for k in ("name", "namespace")} == gateway
        assert "sectionName" not in parent  # both attach to whatever listener takes the host
    assert catch_all["spec"]["hostnames"] == model_route["spec"]["hostnames"]
    assert model_route["spec"]["hostnames"] == [f"llm.models.{DOMAIN}"]


@pytest.mark.parametrize("cloud", CLOUDS)
def test_after_bbr_the_model_rule_wins_over_the_catch_all(cloud: str) -> None:
    """Gateway API precedence: same path match, so the rule with more header matches wins;
    the catch-all has no header match, no backend (Envoy Gateway: 500) and the same prefix."""
    (model_rule,) = _llm_route(cloud)["spec"]["rules"]
    (catch_rule,) = _endpoint_docs(cloud)["HTTPRoute"]["spec"]["rules"]
    (model_match,), (catch_match,) = model_rule["matches"], catch_rule["matches"]
    prefix = {"type": "PathPrefix", "value": PATH_PREFIX}
    assert model_match["path"] == catch_match["path"] == prefix
    assert [h["name"] for h in model_match["headers"]] == [MODEL_HEADER]
    assert "headers" not in catch_match
    assert "backendRefs" not in catch_rule


@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_policy_calls_the_bbr_service_the_release_runs(cloud: str) -> None:
    docs = _endpoint_docs(cloud)
    policy, backend = docs["EnvoyExtensionPolicy"], docs["Backend"]
    (ext,) = policy["spec"]["extProc"]
    (ref,) = extension_refs(policy)
    assert (ref.group, ref.kind, ref.name) == (
        "gateway.envoyproxy.io",
        "Backend",
        "body-based-router",
    )
    assert backend["metadata"]["name"] == ref.name
    assert backend["metadata"]["namespace"] == ref.namespace
    # the Backend names the BBR Service by its cluster DNS name (the Envoy Gateway chart's
    # kubernetesClusterDomain, cluster.local on EKS, AKS and GKE)
    name, namespace, port = _bbr(cloud)
    domain = values("envoy-gateway", cloud).get("kubernetesClusterDomain", "cluster.local")
    (endpoint,) = backend["spec"]["endpoints"]
    assert endpoint == {"fqdn": {"hostname": f"{name}.{namespace}.svc.{domain}", "port": port}}
    bbr_pods = [w for w in workloads(cloud) if w.source == "helm values body-based-routing"]
    assert [w.namespace for w in bbr_pods] == [namespace]
    # chart v1.5.0 starts BBR with --streaming: it answers the headers only at the body's
    # end, which only the full-duplex mode waits for; that mode forbids failOpen (CEL)
    bbr = values("body-based-routing", cloud, BBR_CHART_DEFAULTS)["bbr"]
    assert _pflag_bool(_bbr_args(bbr), "streaming", default=False)
    assert ext["processingMode"] == {"request": {"body": "FullDuplexStreamed"}}
    assert ext["failOpen"] is False


@pytest.mark.parametrize("cloud", CLOUDS)
def test_envoy_speaks_tls_to_bbr_exactly_when_bbr_serves_it(cloud: str) -> None:
    """TLS on one side only fails every LLM request: BBR's --secure-serving (from the chart's
    args) and Envoy's upstream TLS (the Backend) must agree."""
    assert _envoy_speaks_tls(_endpoint_docs(cloud), all_docs(cloud)) == _bbr_serves_tls(cloud)
    if _bbr_serves_tls(cloud):
        tls = _endpoint_docs(cloud)["Backend"]["spec"]["tls"]
        # BBR signs its own certificate at start: no CA to pin. Envoy Gateway refuses a
        # Backend TLS without a CA unless verification is skipped.
        assert tls["insecureSkipVerify"] is True
        assert not {"caCertificateRefs", "wellKnownCACertificates"} & set(tls)
        # BBR's gRPC server offers ALPN h2 only
        assert tls["alpnProtocols"] == ["h2"]


def test_the_tls_evaluators_can_tell_the_two_modes_apart() -> None:
    """Why BBR keeps TLS: the chart renders a flag as ``--key "value"``, which pflag reads as
    true; only ``--secure-serving=false`` would turn it off."""
    bbr = {**BBR_CHART_DEFAULTS["bbr"], "flags": {"secure-serving": False}}
    assert _bbr_args(bbr)[1:3] == ["--secure-serving", "false"]
    assert _pflag_bool(_bbr_args(bbr), "secure-serving", default=True) is True
    assert _pflag_bool(["--secure-serving=false"], "secure-serving", default=True) is False
    assert _pflag_bool([], "secure-serving", default=True) is True
    # Envoy's side: the Backend's tls, or a BackendTLSPolicy on a plain Service reference
    docs: dict[str, Doc] = json.loads(json.dumps(_endpoint_docs("aws")))
    assert _envoy_speaks_tls(docs, []) is True
    docs["Backend"]["spec"].pop("tls")
    assert _envoy_speaks_tls(docs, []) is False
    service = {"name": "body-based-router", "namespace": "kserve", "port": 9004}
    docs["EnvoyExtensionPolicy"]["spec"]["extProc"][0]["backendRefs"] = [service]
    btls = {
        "kind": "BackendTLSPolicy",
        "metadata": {"name": "b", "namespace": "kserve"},
        "spec": {"targetRefs": [{"group": "", "kind": "Service", "name": "body-based-router"}]},
    }
    assert _envoy_speaks_tls(docs, []) is False
    assert _envoy_speaks_tls(docs, [btls]) is True


@pytest.mark.parametrize("cloud", CLOUDS)
def test_envoy_gateway_reconciles_backends(cloud: str) -> None:
    """Envoy Gateway ignores the Backend API unless its config enables it (off by default)."""
    assert cloud in catalog()["envoy-gateway"]["clouds"]
    config = values("envoy-gateway", cloud)["config"]["envoyGateway"]
    assert config["extensionApis"]["enableBackend"] is True


@pytest.mark.parametrize("cloud", CLOUDS)
def test_only_platform_admins_may_create_backends(cloud: str) -> None:
    """A Backend can point Envoy anywhere a grant would refuse (Envoy Gateway's warning, after
    CVE-2021-25740): enabling the API is safe while no team identity may create one."""
    docs = rbac_docs(cloud)
    namespaces = {
        d["metadata"]["name"] for d in built(f"overlays/{cloud}") if d["kind"] == "Namespace"
    }
    assert "kserve" in namespaces
    bounded = [p(cloud) for p in PERSONAS if not p(cloud).unbounded]
    assert bounded, "no team persona: the check would be vacuous"
    for persona in bounded:
        for ns in sorted(namespaces):
            request = Request("create", "gateway.envoyproxy.io", "backends", ns)
            assert not rbac_allowed(docs, persona.subject, request), (persona.name, ns)


@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_backend_needs_no_grant(cloud: str) -> None:
    """The Backend is in the policy's namespace: no ReferenceGrant is involved, and none is
    left behind for the BBR Service (the grants test wants every grant used)."""
    (ref,) = extension_refs(_endpoint_docs(cloud)["EnvoyExtensionPolicy"])
    assert not ref.crosses
    assert permitted([], ref)
    name, namespace, _ = _bbr(cloud)
    stale = [
        g["metadata"]["name"]
        for g in all_docs(cloud)
        if g["kind"] == "ReferenceGrant"
        and g["metadata"].get("namespace") == namespace
        and any(t.get("name") == name for t in g["spec"]["to"])
    ]
    assert stale == []


@pytest.mark.parametrize("cloud", CLOUDS)
def test_envoy_may_reach_bbr_and_nothing_else_may(cloud: str) -> None:
    *_, port = _bbr()
    (bbr,) = [w for w in workloads(cloud) if w.source == "helm values body-based-routing"]
    target = Endpoint(bbr.ident, bbr.namespace, dict(bbr.labels))
    policies = [d for d in all_docs(cloud) if d["kind"] == "NetworkPolicy"]
    namespaces = {
        d["metadata"]["name"]: d["metadata"].get("labels", {})
        for d in built(f"overlays/{cloud}")
        if d["kind"] == "Namespace"
    }
    assert allowed(policies, ENVOY, target, port, namespaces=namespaces)
    stranger = Endpoint("a pod of kserve", "kserve", {"app": "x"})
    assert not allowed(policies, stranger, target, port, namespaces=namespaces)
    # the Backend's endpoint is a DNS name: Envoy resolves it (EKS, AKS and GKE all label
    # their cluster DNS k8s-app=kube-dns)
    dns = Endpoint("cluster DNS", "kube-system", {"k8s-app": "kube-dns"})
    for protocol in ("UDP", "TCP"):
        assert allowed(policies, ENVOY, dns, 53, protocol, namespaces=namespaces)


def test_the_header_the_routes_match_is_the_one_bbr_sets() -> None:
    """Our values configure BBR's body-field-to-header plugin (the chart's default, GIE v1.5.0)
    to copy ``model`` into the header the LLM routes match."""
    plugins = values("body-based-routing", "aws")["bbr"]["plugins"]
    (extractor,) = [p for p in plugins if p["type"] == "body-field-to-header"]
    assert extractor["json"] == {"fieldName": "model", "headerName": MODEL_HEADER}
    assert MODEL_HEADER == "X-Gateway-Model-Name"
