"""Cost arithmetic, hand-checked: steps, pipelines (median durations), deployments."""

from __future__ import annotations

import pytest

from mlplatform.cost import Request, estimate_deploy, estimate_pipeline, load_prices, pods_per_node
from mlplatform.cost.prices import GIB_TO_GB
from mlplatform.errors import ConfigError

AWS = load_prices().basis("aws", "us-east-1")


def test_a_request_from_kubernetes_quantities():
    assert Request.of("500m", "1Gi") == Request(0.5, 1.073741824, 0)
    assert Request.of(2, "4G", 1) == Request(2.0, 4.0, 1)


def test_pipeline_estimate_uses_the_median_and_leaves_unknown_steps_out():
    # GIVEN two steps with known requests, one with three past durations, one with none
    requests = {"prep": Request(2, 4.0), "train": Request(1, 2.0, 1)}
    durations = {"prep": [30.0, 90.0, 60.0]}
    # WHEN estimated
    result = estimate_pipeline("p", requests, durations, AWS)
    # THEN prep costs its hourly rate x the median (60 s); train is unknown
    r = AWS.rates
    prep = (2 * r.cpu_core_hour + 4.0 * r.memory_gb_hour) * 60.0 / 3600
    assert result.steps[0].median_s == 60.0
    assert result.steps[0].cost_usd == pytest.approx(prep)
    assert result.steps[1].cost_usd is None
    assert result.unknown == ["train"]
    assert result.total_usd == pytest.approx(prep)


def test_cpu_deploy_hand_checked():
    # GIVEN 3 replicas of 500m CPU and 1Gi for 730 h on aws us-east-1
    request = Request.of("500m", "1Gi")
    result = estimate_deploy("m@champion", request, replicas=3, hours=730, basis=AWS)
    r = AWS.rates
    hourly = 0.5 * r.cpu_core_hour + 1 * GIB_TO_GB * r.memory_gb_hour
    assert result.cost_usd == pytest.approx(3 * hourly * 730)
    # THEN a t3.large (1930m, 6.9Gi allocatable) holds 3 replicas (CPU bound): one node
    t3 = next(f for f in result.instances if f.instance_type == "t3.large")
    assert (t3.pods_per_node, t3.nodes) == (3, 1)
    assert t3.cost_usd == pytest.approx(0.0832 * 730)
    # AND the cheapest fit comes first
    assert result.instances[0].instance_type == "t3.large"


def test_gpu_deploy_hand_checked():
    # GIVEN 2 replicas each asking 1 GPU, 2 CPU, 8Gi for 24 h on gcp us-central1
    gcp = load_prices().basis("gcp", "us-central1")
    request = Request.of("2", "8Gi", 1)
    result = estimate_deploy(
        "m/3",
        request,
        replicas=2,
        hours=24,
        basis=gcp,
        instance_types=["n1-standard-4+nvidia-tesla-t4", "c2-standard-8"],
    )
    r = gcp.rates
    per_replica = 2 * r.cpu_core_hour + 8 * GIB_TO_GB * r.memory_gb_hour + r.gpu_hour
    assert result.cost_usd == pytest.approx(2 * 24 * per_replica)
    # THEN one replica per T4 node (one GPU each): two nodes x $0.539999 x 24 h
    t4, c2 = result.instances
    assert (t4.pods_per_node, t4.nodes, t4.cost_usd) == (1, 2, pytest.approx(2 * 0.539999 * 24))
    # AND a CPU-only type holds none
    assert (c2.instance_type, c2.pods_per_node, c2.nodes, c2.cost_usd) == (
        "c2-standard-8",
        0,
        None,
        None,
    )


def test_pods_per_node_is_bound_by_each_resource():
    shape = AWS.instance("m6i.2xlarge").shape  # 7910m, 29.5Gi, 58 pods
    assert pods_per_node(Request.of("1", "1Gi"), shape) == 7
    assert pods_per_node(Request.of("100m", "4Gi"), shape) == 7  # 29.5 / 4
    assert pods_per_node(Request.of("10m", "10Mi"), shape) == 58  # the pod limit
    assert pods_per_node(Request.of("8", "1Gi"), shape) == 0


def test_an_unknown_instance_type_is_an_error():
    with pytest.raises(ConfigError, match=r"no instance type 'p5\.48xlarge'"):
        estimate_deploy(
            "m", Request(1, 1), replicas=1, hours=1, basis=AWS, instance_types=["p5.48xlarge"]
        )
