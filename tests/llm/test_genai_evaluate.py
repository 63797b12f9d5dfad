"""`mlp llm evaluate`: mlflow.genai.evaluate of the tiny model served by the real vLLM engine,
with deterministic scorers, logged to its registry version (a local SQLite store)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from mlflow import MlflowClient

from mlplatform.grammar.gate import parse_gate
from mlplatform.llm.evaluate import MAX_TOKENS, QUESTIONS, SCORER_NAMES, evaluate_llm
from mlplatform.llm.registry import register_llm
from mlplatform.llm.sources import parse_source

from ._genai import tracing_restored


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_model_dir):
    """A project folder whose store holds the tiny model as tiny-chat@champion."""
    home = tmp_path_factory.mktemp("genai-eval")
    uri = f"sqlite:///{home / '.mlplatform' / 'mlflow.db'}"
    llm = register_llm(
        parse_source(str(tiny_model_dir)), tracking_uri=uri, name="tiny-chat", alias="champion"
    )
    return home, uri, llm


@pytest.fixture(scope="module")
def cli_report(project, llm_endpoint):
    """`mlp llm evaluate tiny-chat@champion -f json`, as a user runs it."""
    home, _, _ = project
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MLPLATFORM_"))}
    result = subprocess.run(
        [sys.executable, "-m", "mlplatform", "llm", "evaluate", "tiny-chat@champion",
         "--endpoint", llm_endpoint.url, "--gate", "answered>=1,within_token_budget>=1",
         "-f", "json"],
        cwd=home, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_the_scorers_grade_every_question_the_same_way_each_time(cli_report):
    # GIVEN the tiny random-weight model, asked at temperature 0
    report = cli_report
    # THEN every question was answered, within the token budget, and none correctly
    assert [row["question"] for row in report["rows"]] == [q.question for q in QUESTIONS]
    assert report["metrics"]["answered"] == 1.0
    assert report["metrics"]["within_token_budget"] == 1.0
    assert report["metrics"]["exact_match"] == 0.0
    for row in report["rows"]:
        assert row["answer"].strip()
        assert 0 < row["output_tokens"] <= MAX_TOKENS
        assert row["latency_s"] > 0
        assert row["trace_id"].startswith("tr-")
    assert set(SCORER_NAMES) <= set(report["metrics"])


def test_the_evaluation_is_a_run_tagged_on_the_registry_version(project, cli_report):
    _, uri, llm = project
    client = MlflowClient(uri, registry_uri=uri)
    run = client.get_run(cli_report["run_id"])
    # THEN the run holds the scorers' means as metrics and names the version it evaluated
    assert run.data.metrics["answered/mean"] == 1.0
    assert run.data.metrics["exact_match/mean"] == 0.0
    assert run.data.tags["mlp.llm.version"] == f"tiny-chat/{llm.version}"
    assert cli_report["registered"] == f"tiny-chat/{llm.version}"
    # AND the version carries the run and the means as tags
    tags = client.get_model_version("tiny-chat", str(llm.version)).tags
    assert tags["mlp.eval.run_id"] == cli_report["run_id"]
    assert float(tags["mlp.eval.answered"]) == 1.0
    assert float(tags["mlp.eval.exact_match"]) == 0.0
    # AND the gate's verdict, which production requires (governance rule production.gate)
    assert (cli_report["gate"], cli_report["gate_failures"]) == (
        "answered>=1,within_token_budget>=1",
        [],
    )
    assert (tags["mlplatform.gate"], tags["mlplatform.gate.expr"]) == (
        "passed",
        "answered>=1,within_token_budget>=1",
    )
    # AND each question's trace is in the run, with the scorers' assessments on it
    traces = client.search_traces(locations=[run.info.experiment_id], run_id=run.info.run_id)
    assert {t.info.trace_id for t in traces} == {r["trace_id"] for r in cli_report["rows"]}
    names = {a.name for a in traces[0].info.assessments}
    assert {"answered", "within_token_budget", "exact_match"} <= names


def test_a_second_evaluation_gives_the_same_answers_and_grades(project, cli_report, llm_endpoint):
    _, uri, _ = project
    # WHEN the served model is evaluated again, in-process, without the registry
    with tracing_restored():
        again = evaluate_llm(
            llm_endpoint.openai_base, llm_endpoint.model, uri, gate=parse_gate("exact_match>=0.5")
        )
    # THEN greedy decoding gives the same answers, so the same grades
    assert again.registered is None
    # AND a gate the random model cannot pass says which condition failed
    assert (again.gate_passed, again.gate_failures) == (False, ["exact_match 0 is not >= 0.5"])
    first = {r["question"]: r for r in cli_report["rows"]}
    for row in again.rows:
        assert row["answer"] == first[row["question"]]["answer"]
        for name in ("answered", "within_token_budget", "exact_match", "output_tokens"):
            assert row[name] == first[row["question"]][name]
