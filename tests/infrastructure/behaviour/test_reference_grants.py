"""Gateway API: every cross-namespace backend reference of a rendered route is granted.

GIVEN a cloud's rendered objects (``_rendered.all_docs``: overlay, platform-config chart,
``mlp deploy model`` with its scale-to-zero variant) WHEN each HTTPRoute's backend references
are checked against the rendered ReferenceGrants (``_grants``) THEN every reference into
another namespace is permitted, every grant is used and names its target, and the KEDA HTTP
add-on's Service that the scale-to-zero route names is the one its chart creates.
"""

from __future__ import annotations

from typing import Any

import pytest

from mlplatform.serving.deploy.render import DeployOptions

from .._tree import catalog
from ._grants import Reference, backend_refs, extension_refs, grants, permitted
from ._rendered import CLOUDS, all_docs, values

Doc = dict[str, Any]
INTERCEPTOR = "keda-add-ons-http-interceptor-proxy"


def _route(namespace: str, *refs: dict[str, Any], mirror: dict[str, Any] | None = None) -> Doc:
    rule: dict[str, Any] = {"backendRefs": list(refs)}
    if mirror:
        rule["filters"] = [{"type": "RequestMirror", "requestMirror": {"backendRef": mirror}}]
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r", "namespace": namespace},
        "spec": {"rules": [rule]},
    }


def _grant(namespace: str, from_ns: str, name: str | None = "svc", kind: str = "HTTPRoute") -> Doc:
    to: dict[str, Any] = {"group": "", "kind": "Service"}
    if name is not None:
        to["name"] = name
    return {
        "apiVersion": "gateway.networking.k8s.io/v1beta1",
        "kind": "ReferenceGrant",
        "metadata": {"name": "g", "namespace": namespace},
        "spec": {
            "from": [{"group": "gateway.networking.k8s.io", "kind": kind, "namespace": from_ns}],
            "to": [to],
        },
    }


# ---- the evaluator, on hand-made cases -----------------------------------------------------
def test_a_same_namespace_reference_needs_no_grant() -> None:
    (ref,) = backend_refs(_route("shop", {"name": "svc", "port": 80}))
    assert not ref.crosses
    assert permitted([], ref)


def test_a_cross_namespace_reference_needs_a_grant_in_the_target_namespace() -> None:
    (ref,) = backend_refs(_route("shop", {"name": "svc", "namespace": "back", "port": 80}))
    assert not permitted([], ref)
    assert permitted([_grant("back", "shop")], ref)
    assert not permitted([_grant("shop", "shop")], ref)  # a grant in the route's namespace


def test_the_grant_must_name_the_source_namespace_kind_and_target() -> None:
    (ref,) = backend_refs(_route("shop", {"name": "svc", "namespace": "back", "port": 80}))
    assert not grants(_grant("back", "other"), ref)
    assert not grants(_grant("back", "shop", kind="GRPCRoute"), ref)
    assert not grants(_grant("back", "shop", name="another"), ref)
    assert grants(_grant("back", "shop", name=None), ref)  # no name: every Service


def test_a_mirror_filter_is_a_backend_reference_too() -> None:
    route = _route("shop", {"name": "svc", "port": 80}, mirror={"name": "svc", "namespace": "back"})
    refs = list(backend_refs(route))
    assert [r.crosses for r in refs] == [False, True]
    assert not permitted([], refs[1])


# ---- the platform's routes ----------------------------------------------------------------
def _kinds(cloud: str, kind: str) -> list[Doc]:
    return [d for d in all_docs(cloud) if d["kind"] == kind]


def _cross(cloud: str) -> list[Reference]:
    return [r for route in _kinds(cloud, "HTTPRoute") for r in backend_refs(route) if r.crosses]


def _extension_cross(cloud: str) -> list[Reference]:
    """The EnvoyExtensionPolicies' cross-namespace references (the LLM endpoint's BBR)."""
    policies = _kinds(cloud, "EnvoyExtensionPolicy")
    return [r for p in policies for r in extension_refs(p) if r.crosses]


@pytest.mark.parametrize("cloud", CLOUDS)
def test_every_cross_namespace_backend_is_granted(cloud: str) -> None:
    refs = _cross(cloud) + _extension_cross(cloud)
    refused = [str(r) for r in refs if not permitted(_kinds(cloud, "ReferenceGrant"), r)]
    assert refused == []


@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_scale_to_zero_route_crosses_into_keda(cloud: str) -> None:
    """Not vacuous: `mlp deploy model --min-replicas 0` routes to the interceptor."""
    assert {(r.namespace, r.name) for r in _cross(cloud)} == {
        (DeployOptions.keda_namespace, INTERCEPTOR)
    }


@pytest.mark.parametrize("cloud", CLOUDS)
def test_every_grant_names_its_target_and_is_used(cloud: str) -> None:
    refs = _cross(cloud) + _extension_cross(cloud)
    for grant in _kinds(cloud, "ReferenceGrant"):
        assert all(t.get("name") for t in grant["spec"]["to"]), "a grant to every Service"
        assert any(grants(grant, r) for r in refs), f"unused: {grant['metadata']['name']}"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_interceptor_service_is_the_charts(cloud: str) -> None:
    """keda-add-ons-http 0.15.0 names the Service ``<chart>-<interceptor.proxy.service>``
    (default interceptor-proxy) on ``interceptor.proxy.port`` (default 8080), in its release's
    namespace, whatever the release is called."""
    chart = catalog()["keda-add-ons-http"]
    proxy = values("keda-add-ons-http", cloud).get("interceptor", {}).get("proxy", {})
    service = f"{chart['chart']}-{proxy.get('service', 'interceptor-proxy')}"
    ports = {(r.namespace, r.name, r.port) for r in _cross(cloud)}
    assert ports == {(chart["namespace"], service, proxy.get("port", 8080))}
