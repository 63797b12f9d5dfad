"""Chaos Mesh would inject what examples/chaos-testing asks, and each experiment's stated
outcome can happen.

GIVEN the experiments, the built namespaces and the chart's values WHEN read the way Chaos Mesh
2.8 selects pods (with ``controllerManager.enableFilterNamespace`` only pods in namespaces
annotated ``chaos-mesh.org/inject=enabled`` are selected, for ``selector`` and ``target``
alike: pkg/selector/generic/namespace) THEN every namespace an experiment selects carries the
annotation and no other does, the daemon talks to containerd, and the memory stress is sized
above the memory limit of the model server it targets.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlplatform.serving.deploy import Resources
from mlplatform.serving.deploy.render import CONTAINER

from ._manifests import REPO, built, find, one

CHAOS = "../../examples/chaos-testing"
INJECT = "chaos-mesh.org/inject"
VALUES = REPO / "infrastructure" / "helm" / "common" / "chaos-mesh.yaml"
# what the experiments state, and the alerts whose metric each action cannot move
EXPECTATION = ("mlplatform.io/exercises", "mlplatform.io/expected-outcome")
SERVER_TIMED = "HighInferenceLatency"  # request_predict_seconds, timed inside the server
_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40,
          "K": 10**3, "M": 10**6, "G": 10**9, "KI": 2**10, "MI": 2**20, "GI": 2**30}  # fmt: skip


def to_bytes(quantity: str) -> int:
    """A Kubernetes memory quantity (``2Gi``) or a Chaos Mesh size (``3GiB``, ``512MB``)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([A-Za-z]*)", quantity.strip())
    assert match, f"not a size: {quantity!r}"
    number, unit = match.groups()
    return int(float(number) * _UNITS[unit.upper() or "B"])


def _spec(doc: dict[str, Any]) -> dict[str, Any]:
    return dict(doc["spec"]["podChaos"] if doc["kind"] == "Schedule" else doc["spec"])


def _namespaces(spec: dict[str, Any]) -> set[str]:
    """The namespaces of an experiment's selector and, for network chaos, its target."""
    selectors = [spec["selector"], spec.get("target", {}).get("selector", {})]
    return {ns for s in selectors for ns in s.get("namespaces", [])}


def _annotated() -> set[str]:
    return {
        ns["metadata"]["name"]
        for ns in find(built("base"), "Namespace")
        if ns["metadata"].get("annotations", {}).get(INJECT) == "enabled"
    }


def test_size_parsing() -> None:
    assert to_bytes("2Gi") == 2 * 2**30
    assert to_bytes("512MB") == 512 * 10**6
    assert to_bytes("3GiB") > to_bytes("2Gi") > to_bytes("2GB")


def test_namespace_filtering_is_on() -> None:
    values = yaml.safe_load(VALUES.read_text())
    assert values["controllerManager"]["enableFilterNamespace"] is True


def test_every_namespace_an_experiment_selects_allows_injection() -> None:
    # GIVEN filtering on WHEN each experiment's selector (and target) namespaces are looked up
    # THEN each carries the annotation; else Chaos Mesh selects no pod and injects nothing
    selected: set[str] = set()
    for doc in built(CHAOS):
        spec = _spec(doc)
        namespaces = _namespaces(spec)
        assert namespaces, f"{doc['metadata']['name']} selects no namespace (would be all)"
        assert namespaces <= _annotated(), (doc["metadata"]["name"], namespaces - _annotated())
        selected |= namespaces
    # and only those: no namespace is open to chaos that no experiment needs
    assert _annotated() == selected == {"kserve", "mlflow"}


def test_the_daemon_uses_containerd() -> None:
    """EKS, AKS and GKE run containerd; the chart's default is docker (chaos-mesh v2.8.3
    helm/chaos-mesh/values.yaml: runtime docker, socketPath /var/run/docker.sock)."""
    daemon = yaml.safe_load(VALUES.read_text())["chaosDaemon"]
    assert daemon["runtime"] == "containerd"
    assert daemon["socketPath"] == "/run/containerd/containerd.sock"


def test_experiments_hit_one_pod_for_a_bounded_time() -> None:
    docs = built(CHAOS)
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == ["NetworkChaos", "NetworkChaos", "PodChaos", "PodChaos", "Schedule",
                     "StressChaos", "StressChaos"]  # fmt: skip
    for doc in docs:
        spec = _spec(doc)
        assert spec["mode"] == "one", doc["metadata"]["name"]
        if spec.get("action") == "pod-kill":  # instant: no duration
            assert "duration" not in spec
            continue
        assert spec["duration"].endswith("m")
        assert int(spec["duration"][:-1]) <= 10


def test_the_design_pod_kill_experiment_targets_a_predictor() -> None:
    kill = one(built(CHAOS), "PodChaos", "pod-kill")["spec"]
    assert kill["action"] == "pod-kill"
    assert kill["selector"]["namespaces"] == ["kserve"]
    assert "serving.kserve.io/inferenceservice" in kill["selector"]["labelSelectors"]


@pytest.mark.parametrize("name", ["memory-stress"])
def test_memory_stress_exceeds_the_model_server_limit(name: str) -> None:
    # GIVEN the memory limit `mlp deploy model` renders for the model server container
    # WHEN the stress's total size (workers x size) is compared THEN it is above the limit,
    # so the experiment exercises OOM handling, and the stressor is not the OOM victim
    stress = one(built(CHAOS), "StressChaos", name)["spec"]
    memory = stress["stressors"]["memory"]
    limit = to_bytes(Resources().memory_limit)
    assert memory["workers"] * to_bytes(memory["size"]) > limit
    assert memory["oomScoreAdj"] == -1000
    assert stress["containerNames"] == [CONTAINER]


def test_every_experiment_states_what_it_exercises() -> None:
    for doc in built(CHAOS):
        annotations = doc["metadata"].get("annotations", {})
        assert all(annotations.get(key) for key in EXPECTATION), doc["metadata"]["name"]


def test_network_chaos_does_not_claim_the_server_timed_latency_alert() -> None:
    # request_predict_seconds is timed inside the server: delay on the wire cannot move it
    rules = one(built("base"), "PrometheusRule", "mlplatform-alerts")["spec"]["groups"]
    latency = next(r for g in rules for r in g["rules"] if r.get("alert") == SERVER_TIMED)
    assert "request_predict_seconds" in latency["expr"]
    folder = REPO / "examples" / "chaos-testing"
    for path in sorted(Path(folder).glob("networkchaos.*.yaml")):
        doc = yaml.safe_load(path.read_text())
        claims = " ".join(doc["metadata"]["annotations"].values())
        assert SERVER_TIMED not in claims, path.name
        fires = re.search(rf"{SERVER_TIMED}[^.]*\bfires?\b|must fire", path.read_text())
        assert not fires, f"{path.name} claims an alert network delay cannot move"
