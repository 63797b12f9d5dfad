"""`mlp llm bench` on the real engine: vLLM's own benchmark through the shared endpoint, its
figures read back, the MLflow run (and its link to the registered version), and the errors.

The ladder is small (concurrency 1 and 4, four short requests each) so that the file stays
quick; what is checked is the path and the figures' consistency, never a speed.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from mlplatform.cli.app import app
from mlplatform.errors import ConfigError
from mlplatform.llm.bench import endpoint_base, parse_goodput, parse_ladder
from mlplatform.llm.local import free_port
from mlplatform.llm.registry import register_llm
from mlplatform.llm.sources import parse_source

from ._engine import LlmEndpoint

SMALL = ["--concurrency", "1,4", "--num-prompts", "4", "--input-len", "16", "--output-len", "8"]


def mlp(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory):
    path = tmp_path_factory.getbasetemp() / "bench-mlflow-template.db"
    if not path.exists():
        building = path.with_suffix(".building")
        MlflowClient(f"sqlite:///{building}").search_experiments()
        building.replace(path)
    return path


@pytest.fixture
def project(tmp_path, monkeypatch, mlflow_template):
    """An empty local-profile project as the working directory, its store migrated."""
    for name in list(os.environ):
        if name.startswith(("MLPLATFORM_", "MLFLOW_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".mlplatform").mkdir()
    shutil.copy(mlflow_template, tmp_path / ".mlplatform" / "mlflow.db")
    return tmp_path


def tracking(project: Path) -> MlflowClient:
    uri = f"sqlite:///{project / '.mlplatform' / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


# ---- parsing: no engine -------------------------------------------------------------------
def test_goodput_slos_parse_to_milliseconds():
    assert parse_goodput("ttft:500,tpot:50") == {"ttft": 500.0, "tpot": 50.0}
    assert parse_goodput("e2el:1500.5") == {"e2el": 1500.5}
    assert parse_goodput(None) == {}


@pytest.mark.parametrize(
    "spec", ["ttft", "ttft:fast", "itl:20", "ttft:500,ttft:200", "tpot:-1", "ttft:nan"]
)
def test_a_bad_goodput_slo_is_refused_with_an_example(spec: str):
    with pytest.raises(ConfigError) as raised:
        parse_goodput(spec)
    assert repr(spec) in raised.value.headline
    assert "--goodput ttft:500,tpot:50" in raised.value.hint


@pytest.mark.parametrize("spec", ["", "0,4", "1,x", "4,4", "-1"])
def test_a_bad_ladder_is_refused(spec: str):
    with pytest.raises(ConfigError, match="concurrency ladder"):
        parse_ladder(spec)
    assert parse_ladder("1,4,16") == (1, 4, 16)


def test_the_endpoint_may_be_the_openai_base():
    assert endpoint_base("http://127.0.0.1:8000/v1/") == "http://127.0.0.1:8000"
    assert endpoint_base("https://llm.example.com") == "https://llm.example.com"
    with pytest.raises(ConfigError, match="expected the server's http"):
        endpoint_base("127.0.0.1:8000")


# ---- the CLI on the real engine -----------------------------------------------------------
def test_bench_a_registered_llm_logs_a_linked_run(project: Path, llm_endpoint: LlmEndpoint):
    # GIVEN the tiny model registered as tiny-chat@champion (its served name, tokenizer inside)
    uri = f"sqlite:///{project / '.mlplatform' / 'mlflow.db'}"
    llm = register_llm(
        parse_source(str(llm_endpoint.model_dir)), tracking_uri=uri, name="tiny-chat",
        alias="champion", served_name=llm_endpoint.model,
    )  # fmt: skip
    # WHEN it is benchmarked by reference, with generous SLOs
    result = mlp(
        "llm", "bench", llm_endpoint.openai_base, "--model", "tiny-chat@champion", *SMALL,
        "--goodput", "ttft:600000,tpot:600000", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    # THEN every step of the ladder ran every request through vLLM's benchmark
    steps = doc["steps"]
    assert [s["concurrency"] for s in steps] == [1, 4]
    assert doc["options"]["tokenizer"] == str(llm.local_path)
    for step in steps:
        assert (step["completed"], step["failed"], step["first_error"]) == (4, 0, None)
        assert step["output_tokens_per_s"] > 0
        # every request met the generous SLOs: goodput is the whole request rate
        assert step["goodput_rps"] == pytest.approx(step["requests_per_s"])
        assert step["good_fraction"] == pytest.approx(1.0)
        for metric in ("ttft", "tpot", "itl", "e2el"):
            stats = step["latency_ms"][metric]
            assert 0 <= stats["p50"] <= stats["p90"] <= stats["p99"], (metric, stats)
        assert step["latency_ms"]["ttft"]["p50"] <= step["latency_ms"]["e2el"]["p99"]
    # AND the MLflow run holds the options and each step's figures, linked both ways
    assert doc["registered"] == "tiny-chat/1"
    client = tracking(project)
    run = client.get_run(doc["run_id"])
    assert client.get_experiment(run.info.experiment_id).name == "llm-bench"
    assert run.data.params["concurrency"] == "1,4"
    assert run.data.params["goodput"] == "ttft:600000,tpot:600000"
    assert run.data.tags["mlp.llm.registered"] == "tiny-chat/1"
    for step in steps:
        c = step["concurrency"]
        assert run.data.metrics[f"output_tokens_per_s_c{c}"] == pytest.approx(
            step["output_tokens_per_s"]
        )
        assert run.data.metrics[f"ttft_p99_ms_c{c}"] == pytest.approx(
            step["latency_ms"]["ttft"]["p99"]
        )
        assert run.data.metrics[f"goodput_rps_c{c}"] == pytest.approx(step["goodput_rps"])
    history = client.get_metric_history(doc["run_id"], "output_tokens_per_s")
    assert sorted(m.step for m in history) == [1, 4]
    version = client.get_model_version("tiny-chat", "1")
    assert version.tags["mlp.llm.bench_run"] == doc["run_id"]


def test_bench_a_served_name_prints_the_table(project: Path, llm_endpoint: LlmEndpoint):
    # WHEN a served name that is not registered is benchmarked with its tokenizer, untracked
    result = mlp(
        "llm", "bench", llm_endpoint.url, "-m", llm_endpoint.model,
        "--tokenizer", str(llm_endpoint.model_dir), "--concurrency", "2", "--num-prompts",
        "2", "--input-len", "16", "--output-len", "4", "--no-track",
    )  # fmt: skip
    # THEN the table shows the step's figures and no run was logged
    assert result.exit_code == 0, result.output
    for text in ("output tokens/s", "TTFT p50 (ms)", "TPOT p99 (ms)", "ITL p90", "E2E p99"):
        assert text in result.output
    assert "2/0" in result.output  # requests ok/failed
    assert "MLflow run" not in result.output
    assert tracking(project).get_experiment_by_name("llm-bench") is None


# ---- errors -------------------------------------------------------------------------------
def test_a_bad_goodput_option_exits_2(project: Path):
    result = mlp("llm", "bench", "http://127.0.0.1:1", "-m", "x", "--goodput", "ttft=500")
    assert result.exit_code == 2
    assert "Bad goodput SLO 'ttft=500'" in result.output


def test_an_unreachable_endpoint_exits_2_naming_it(project: Path, tmp_path: Path):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = mlp("llm", "bench", url, "-m", "tiny-chat", "--tokenizer", str(tmp_path))
    assert result.exit_code == 2
    assert f"No OpenAI endpoint answers at {url}" in result.output
    assert "mlp llm serve" in result.output


def test_a_model_the_endpoint_does_not_serve_exits_2(project: Path, llm_endpoint: LlmEndpoint):
    result = mlp(
        "llm", "bench", llm_endpoint.url, "-m", "nope", "--tokenizer", str(llm_endpoint.model_dir)
    )
    assert result.exit_code == 2
    assert f"does not serve 'nope'; it serves: {llm_endpoint.model}" in result.output


def test_an_unregistered_model_without_tokenizer_exits_2(project: Path):
    result = mlp("llm", "bench", "http://127.0.0.1:1", "-m", "tiny-chat")
    assert result.exit_code == 2
    assert "is not a registered LLM" in result.output
    assert "--tokenizer" in result.output
