"""The price tables: one dated, sourced file, validated, consistent with the node pools."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

import mlplatform.cost as cost
from mlplatform.cost.prices import GIB_TO_GB, PriceBook, load_prices
from mlplatform.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
NODE_POOLS = ROOT / "infrastructure" / "terraform" / "node-pools.json"
REGIONS = {
    "aws": {"us-east-1", "eu-west-1"},
    "azure": {"eastus", "westeurope"},
    "gcp": {"us-central1", "europe-west4"},
}


def test_public_api_is_pinned():
    assert sorted(cost.__all__) == sorted(
        [
            *("CPU_CORE_HOUR", "GPU_HOUR", "HOURS_PER_MONTH", "MEMORY_GB_HOUR"),
            *("DeployEstimate", "Instance", "InstanceFit", "InstanceShape", "PipelineEstimate"),
            *("PriceBasis", "PriceBook", "Request", "StepEstimate", "UnitRates"),
            *("estimate_deploy", "estimate_pipeline", "hourly_cost", "load_prices"),
            *("parse_quantity", "pods_per_node", "run_cost"),
        ]
    )


def test_the_design_flat_rates():
    assert (cost.CPU_CORE_HOUR, cost.MEMORY_GB_HOUR, cost.GPU_HOUR) == (0.048, 0.006, 0.526)
    assert cost.HOURS_PER_MONTH == 730.0


def test_the_file_is_dated_sourced_and_says_list_prices():
    book = load_prices()
    assert book.as_of.year >= 2026
    assert "list prices" in book.note.lower()
    for cloud, regions in REGIONS.items():
        assert regions <= set(book.clouds[cloud].regions)
        assert "pricing" in book.clouds[cloud].source.lower()


def test_every_node_pool_instance_type_is_priced_with_its_shape_and_allocatable():
    # GIVEN the node pools the clusters define (their instance types, shapes, allocatable)
    pools = json.loads(NODE_POOLS.read_text())["instance_types"]
    book = load_prices()
    # THEN the price tables hold exactly those types, with the same figures
    for cloud, types in pools.items():
        table = book.clouds[cloud]
        assert set(table.instance_types) == set(types)
        for name, spec in types.items():
            shape = table.instance_types[name]
            assert f"{shape.vcpu:g}" == spec["capacity"]["cpu"]
            assert f"{shape.memory_gib:g}Gi" == spec["capacity"]["memory"]
            assert str(shape.gpu) == spec["capacity"]["nvidia.com/gpu"]
            assert shape.gpu_model == spec.get("gpu_model")
            alloc = spec["allocatable"]
            assert (shape.allocatable.cpu, shape.allocatable.memory) == (
                alloc["cpu"],
                alloc["memory"],
            )
            assert (shape.allocatable.gpu, shape.allocatable.pods) == (
                int(alloc["nvidia.com/gpu"]),
                int(alloc["pods"]),
            )


def test_unit_rates_follow_the_stated_method():
    # GIVEN aws us-east-1: m6i.2xlarge (8 vCPU, 32 GiB) $0.384/h, g4dn.xlarge (4, 16 GiB, 1 T4)
    # $0.526/h
    rates = load_prices().basis("aws", "us-east-1").rates
    # THEN CPU and memory split the m6i price in the design's 0.048 : 0.006 ratio
    scale = 0.384 / (8 * 0.048 + 32 * GIB_TO_GB * 0.006)
    assert rates.cpu_core_hour == pytest.approx(0.048 * scale)
    assert rates.memory_gb_hour == pytest.approx(0.006 * scale)
    assert 8 * rates.cpu_core_hour + 32 * GIB_TO_GB * rates.memory_gb_hour == pytest.approx(0.384)
    # AND the GPU rate is what the g4dn costs beyond its CPUs and memory
    rest = 4 * rates.cpu_core_hour + 16 * GIB_TO_GB * rates.memory_gb_hour
    assert rates.gpu_hour == pytest.approx(0.526 - rest)
    for cloud, regions in REGIONS.items():
        for region in regions:
            r = load_prices().basis(cloud, region).rates
            assert 0 < r.memory_gb_hour < r.cpu_core_hour < r.gpu_hour


@pytest.mark.parametrize(
    ("cloud", "region", "message", "hint"),
    [
        ("oracle", None, "no price table for cloud 'oracle'", "aws, azure, gcp"),
        ("aws", "mars-1", "no region 'mars-1'", "us-east-1, eu-west-1"),
    ],
)
def test_unknown_cloud_or_region_names_the_known_ones(cloud, region, message, hint):
    with pytest.raises(ConfigError, match=message) as raised:
        load_prices().basis(cloud, region)
    assert hint in str(raised.value.hint)


def test_unknown_instance_type_names_the_known_ones_and_the_hint_works():
    basis = load_prices().basis("gcp", "us-central1")
    with pytest.raises(ConfigError, match=r"no instance type 'n2-standard-4'") as raised:
        basis.instance("n2-standard-4")
    named = str(raised.value.hint).split("Use one of: ")[1].split(" (")[0].split(", ")
    assert [basis.instance(n).name for n in named] == [i.name for i in basis.instances]


def test_a_region_missing_a_price_does_not_validate():
    # GIVEN the shipped file with one price removed
    data = yaml.safe_load(
        (ROOT / "src" / "mlplatform" / "cost" / "prices.yaml").read_text(encoding="utf-8")
    )
    del data["clouds"]["aws"]["regions"]["eu-west-1"]["hourly"]["g5.xlarge"]
    # THEN the model refuses it
    with pytest.raises(ValidationError, match="eu-west-1 must price exactly"):
        PriceBook.model_validate(data)
