"""`mlp cost estimate pipeline|deploy`, `mlp cost prices`, and the cost in `mlp runs`."""

from __future__ import annotations

import json
import statistics
import textwrap

import pytest
from mlflow import MlflowClient

from _mlflow_store import sqlite_store
from mlplatform.cli.app import app
from mlplatform.cost import load_prices
from mlplatform.cost.prices import GIB_TO_GB
from mlplatform.errors import MlplatformError

FLOW = textwrap.dedent(
    """
    from mlplatform import Resources, pipeline, step

    @step(resources=Resources(cpu=2, memory="4Gi"))
    def prepare(n: int) -> list[int]:
        return list(range(n))

    @step(resources=Resources(cpu=0.5, memory="512Mi", gpu=1))
    def score(values: list[int]) -> int:
        return sum(values)

    @pipeline(name="costed")
    def costed(n: int = 3) -> None:
        score(prepare(n))
    """
)
REQUESTS = {"prepare": (2.0, 4 * GIB_TO_GB, 0), "score": (0.5, 0.5 * GIB_TO_GB, 1)}


def shown(result) -> str:
    exc = result.exception
    raised = f"{exc.headline}\n{exc.hint}" if isinstance(exc, MlplatformError) else ""
    return " ".join((result.output + raised).split())


@pytest.fixture
def mlp(project, runner, tmp_path_factory):
    """`mlp --tracking-uri <fresh sqlite store> ...` in a project with the costed flow."""
    (project / "flow.py").write_text(FLOW)
    uri = sqlite_store(tmp_path_factory, project)
    return lambda *args: runner.invoke(app, ["--tracking-uri", uri, *args])


def run_costed(mlp, *ns: int) -> None:
    for n in ns:
        result = mlp(
            "pipeline", "run", "costed", "--file", "flow.py", "--in-process", "-p", f"n={n}"
        )
        assert result.exit_code == 0, shown(result)


def hourly(node: str, rates) -> float:
    cpu, memory_gb, gpu = REQUESTS[node]
    return cpu * rates.cpu_core_hour + memory_gb * rates.memory_gb_hour + gpu * rates.gpu_hour


def test_runs_list_shows_the_cost_and_the_estimate_uses_the_median_duration(mlp, project):
    # GIVEN three tracked runs of a pipeline with a CPU step and a GPU step
    run_costed(mlp, 2, 3, 4)

    # WHEN the runs are listed as JSON
    listed = json.loads(mlp("runs", "list", "-f", "json").stdout)
    # THEN each carries its recorded cost: the sum of its steps' requests x durations x rates
    rates = load_prices().basis("aws", "us-east-1").rates
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    exp = client.get_experiment_by_name("mlplatform").experiment_id
    durations: dict[str, list[float]] = {"prepare": [], "score": []}
    for run in listed:
        steps = client.search_runs([exp], f"tags.mlflow.parentRunId = '{run['run_id']}'")
        total = 0.0
        for s in steps:
            seconds = s.data.metrics["duration_s"]
            durations[s.data.tags["mlplatform.node"]].append(seconds)
            total += hourly(s.data.tags["mlplatform.node"], rates) * seconds / 3600
        assert run["cost_usd"] == pytest.approx(total, rel=1e-9)

    # WHEN one run is estimated (default: aws us-east-1)
    result = mlp("cost", "estimate", "pipeline", "costed", "--file", "flow.py", "-f", "json")
    assert result.exit_code == 0, shown(result)
    estimate = json.loads(result.stdout)
    # THEN each step costs its hourly rate x the median of its three recorded durations
    for row in estimate["steps"]:
        median = statistics.median(durations[row["node"]])
        assert row["runs"] == 3
        assert row["median_s"] == pytest.approx(median)
        assert row["cost_usd"] == pytest.approx(hourly(row["node"], rates) * median / 3600)
    assert estimate["total_usd"] == pytest.approx(sum(r["cost_usd"] for r in estimate["steps"]))
    assert (estimate["cloud"], estimate["region"], estimate["unknown"]) == ("aws", "us-east-1", [])

    # AND the table shows the total and says these are list prices
    table = shown(mlp("cost", "estimate", "pipeline", "costed", "--file", "flow.py"))
    assert "total: $" in table
    assert "List prices as of" in table
    # AND `mlp runs show` has a cost column for the steps
    show = shown(mlp("runs", "show", listed[0]["run_id"]))
    assert "cost usd" in show


def test_a_pipeline_with_no_runs_is_an_error_whose_hint_works(mlp):
    # WHEN a never-run pipeline is estimated
    result = mlp("cost", "estimate", "pipeline", "costed", "--file", "flow.py")
    # THEN it is an error that says to run it once, with the command
    assert result.exit_code == 2
    text = shown(result)
    assert "no recorded step runs" in text
    assert "mlp pipeline run costed --file flow.py" in text
    # AND following the hint makes the estimate work
    run_costed(mlp, 3)
    assert mlp("cost", "estimate", "pipeline", "costed", "--file", "flow.py").exit_code == 0


def test_deploy_estimate_cpu_from_the_deploy_settings(mlp):
    # GIVEN the [deploy] defaults `mlp deploy model` renders: 500m CPU, 1Gi, min 1 replica
    result = mlp(
        "cost", "estimate", "deploy", "churn@champion", "--cloud", "azure", "--replicas", "4",
        "--instance-type", "Standard_D4s_v5", "-f", "json",
    )  # fmt: skip
    assert result.exit_code == 0, shown(result)
    out = json.loads(result.stdout)
    rates = load_prices().basis("azure", "eastus").rates
    per_replica = 0.5 * rates.cpu_core_hour + GIB_TO_GB * rates.memory_gb_hour
    # THEN replicas x requests x 730 h; a D4s_v5 (3860m, 13.2Gi) holds 7 replicas: one node
    assert (out["model"], out["region"], out["hours"]) == ("churn@champion", "eastus", 730.0)
    assert out["cost_usd"] == pytest.approx(4 * per_replica * 730)
    [node] = out["instances"]
    assert (node["pods_per_node"], node["nodes"]) == (7, 1)
    assert node["cost_usd"] == pytest.approx(0.192 * 730)


def test_deploy_estimate_gpu(mlp):
    result = mlp(
        "cost", "estimate", "deploy", "models:/churn/3", "--cloud", "aws", "--region",
        "eu-west-1", "--gpu", "1", "--cpu", "2", "--memory", "8Gi", "--replicas", "3",
        "--hours", "10", "-f", "json",
    )  # fmt: skip
    assert result.exit_code == 0, shown(result)
    out = json.loads(result.stdout)
    rates = load_prices().basis("aws", "eu-west-1").rates
    per_replica = 2 * rates.cpu_core_hour + 8 * GIB_TO_GB * rates.memory_gb_hour + rates.gpu_hour
    assert out["model"] == "churn/3"
    assert out["cost_usd"] == pytest.approx(3 * 10 * per_replica)
    fits = {f["instance_type"]: f for f in out["instances"]}
    assert (fits["g4dn.xlarge"]["nodes"], fits["g4dn.xlarge"]["cost_usd"]) == (
        3,
        pytest.approx(3 * 0.587 * 10),
    )
    assert fits["m6i.2xlarge"]["nodes"] is None  # no GPU there


@pytest.mark.parametrize(
    ("args", "message", "hint"),
    [
        (("--cloud", "oracle"), "no price table for cloud 'oracle'", "aws, azure, gcp"),
        (("--cloud", "gcp", "--region", "mars"), "no region 'mars'", "us-central1"),
        (("--instance-type", "x1.huge"), "no instance type 'x1.huge'", "g4dn.xlarge"),
        (("--memory", "lots"), "'lots' is not a Kubernetes quantity", "4Gi"),
    ],
)
def test_bad_deploy_input_is_a_clear_error(mlp, args, message, hint):
    result = mlp("cost", "estimate", "deploy", "churn@champion", *args)
    assert result.exit_code == 2
    assert message in shown(result)
    assert hint in shown(result)


def test_a_model_reference_that_does_not_parse(mlp):
    result = mlp("cost", "estimate", "deploy", "churn@@x", "--cloud", "aws")
    assert result.exit_code == 2
    assert "is not a model reference" in shown(result)


def test_prices_lists_a_table_with_its_source_and_rates(mlp):
    out = json.loads(mlp("cost", "prices", "--cloud", "gcp", "-f", "json").stdout)
    assert out["region"] == "us-central1"
    assert "cloud.google.com" in out["source"]
    assert {i["instance_type"] for i in out["instances"]} >= {"g2-standard-8+nvidia-l4"}
    assert out["rates"]["gpu_hour"] > 0
