"""Each pipeline run records its estimated cost in MLflow: per step and in total."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from mlplatform import Resources, pipeline, step
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.cost import load_prices
from mlplatform.pipelines.local import LocalExecutor, RunOptions
from mlplatform.tracking import MlflowObserver, get_run, list_runs

BASIS = load_prices().basis("aws", "us-east-1")
GB = 1e9


@step(resources=Resources(cpu=2, memory="4Gi"))
def prepare(n: int) -> list[int]:
    return list(range(n))


@step(resources=Resources(cpu=0.5, memory="512Mi", gpu=1))
def score(values: list[int]) -> int:
    return sum(values)


@pipeline(name="costed")
def costed(n: int = 3) -> None:
    score(prepare(n))


REQUESTS = {"prepare": (2.0, 4 * 1024**3 / GB, 0), "score": (0.5, 512 * 1024**2 / GB, 1)}


def expected(node: str, seconds: float) -> float:
    cpu, memory_gb, gpu = REQUESTS[node]
    r = BASIS.rates
    return (
        (cpu * r.cpu_core_hour + memory_gb * r.memory_gb_hour + gpu * r.gpu_hour) * seconds / 3600
    )


def step_runs(uri: str, pipeline_run_id: str) -> dict:
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("exp").experiment_id
    found = client.search_runs([exp], f"tags.`mlplatform.run_id` = '{pipeline_run_id}'")
    return {r.data.tags["mlplatform.node"]: r for r in found if "mlplatform.node" in r.data.tags}


@pytest.fixture
def executor(tracking_uri, tmp_path):
    observer = MlflowObserver(tracking_uri, "exp", cost=BASIS)
    options = RunOptions(in_process=True, observer=observer)
    return LocalExecutor(ArtifactStore(tmp_path / "store"), options)


def test_step_and_total_costs_equal_requests_x_durations_x_rates(tracking_uri, executor):
    # GIVEN a pipeline of a CPU step and a GPU step, run twice with different parameters
    runs = [executor.run(costed.graph, {"n": n}) for n in (3, 4)]

    for result in runs:
        # THEN each step run's cost_usd is its requests x its recorded duration x the rates
        steps = step_runs(tracking_uri, result.run_id)
        costs = {}
        for node, run in steps.items():
            seconds = run.data.metrics["duration_s"]
            costs[node] = run.data.metrics["cost_usd"]
            assert costs[node] == pytest.approx(expected(node, seconds), rel=1e-12)
            assert "USD/h" in run.data.tags["mlplatform.cost_basis"]
        assert set(costs) == {"prepare", "score"}
        # AND the parent run's cost_usd is their sum, with the price table it used
        parent = get_run(result.run_id, tracking_uri=tracking_uri)
        assert parent.metrics["cost_usd"] == pytest.approx(sum(costs.values()), rel=1e-12)
        assert parent.tags["mlplatform.cost_cloud"] == "aws"
        assert parent.tags["mlplatform.cost_region"] == "us-east-1"
        assert parent.tags["mlplatform.cost_as_of"] == BASIS.as_of.isoformat()
        # AND the step summaries of `mlp runs show` carry the step costs
        assert {s.name: s.cost_usd for s in parent.steps} == costs

    # AND `mlp runs list` (list_runs) shows each run's total
    listed = {r.pipeline_run_id: r.cost_usd for r in list_runs(tracking_uri, "exp")}
    for result in runs:
        assert (
            listed[result.run_id]
            == get_run(result.run_id, tracking_uri=tracking_uri).metrics["cost_usd"]
        )


def test_cached_steps_cost_nothing(tracking_uri, executor):
    # GIVEN a run, then the same run again (every step a cache hit)
    executor.run(costed.graph, {"n": 3})
    again = executor.run(costed.graph, {"n": 3})
    assert again.cached == ["prepare", "score"]

    # THEN the cached step runs record 0 and say why; the run's total is 0
    steps = step_runs(tracking_uri, again.run_id)
    assert {n: r.data.metrics["cost_usd"] for n, r in steps.items()} == {
        "prepare": 0.0,
        "score": 0.0,
    }
    assert all("cache hit" in r.data.tags["mlplatform.cost_basis"] for r in steps.values())
    assert get_run(again.run_id, tracking_uri=tracking_uri).metrics["cost_usd"] == 0.0


def test_without_a_price_basis_no_cost_is_recorded(tracking_uri, tmp_path):
    options = RunOptions(in_process=True, observer=MlflowObserver(tracking_uri, "exp"))
    result = LocalExecutor(ArtifactStore(tmp_path / "s"), options).run(costed.graph, {"n": 2})
    parent = get_run(result.run_id, tracking_uri=tracking_uri)
    assert "cost_usd" not in parent.metrics
    assert {s.cost_usd for s in parent.steps} == {None}
