"""`mlp pipeline submit|status|logs` against a local, strict stand-in for the Argo server.

Live submission to a real Argo server is untested here; these tests pin the requests that
would be sent (paths, body keys, token, namespace, strictly valid documents) and how replies
and refusals are read back.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from mlplatform.cli import app as cli
from mlplatform.errors import ArgoError
from mlplatform.pipelines.argo import compile_pipeline
from mlplatform.pipelines.argo.client import ArgoClient
from mlplatform.settings import load_settings
from mlplatform.workspace import Workspace

from ._compile import SCHEDULE, standard
from ._schemas import schema_errors
from .argo_server import ArgoEmulator, Server

# Hera 7.1 serializes requests with pydantic's deprecated .json()
pytestmark = pytest.mark.filterwarnings("ignore:The `json` method is deprecated")
TOKEN = "s3cr3t-argo-token"
NAMESPACE = "ml-team"


def emulator(crd_schemas: Path, base: str = "") -> ArgoEmulator:
    return ArgoEmulator(TOKEN, NAMESPACE, lambda doc: schema_errors(crd_schemas, doc), base)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith(("MLPLATFORM_", "MLFLOW_")) and name != "MLPLATFORM_CRD_SCHEMAS":
            monkeypatch.delenv(name)
    return monkeypatch


def serve(monkeypatch: pytest.MonkeyPatch, server: Server, token: str | None = TOKEN) -> None:
    monkeypatch.setenv("MLPLATFORM_ARGO_SERVER", server.url)
    monkeypatch.setenv("MLPLATFORM_ARGO_NAMESPACE", NAMESPACE)
    if token:
        monkeypatch.setenv("MLPLATFORM_ARGO_TOKEN", token)


@pytest.fixture
def argo(crd_schemas: Path, clean_env: pytest.MonkeyPatch) -> Iterator[ArgoEmulator]:
    """The emulator, running, with the settings (env) pointing the CLI at it."""
    with Server(emulator(crd_schemas)) as server:
        serve(clean_env, server)
        yield server.emulator


def mlp(*args: str) -> Result:
    return CliRunner().invoke(cli.app, ["pipeline", *args])


def _error_lines(output: str) -> tuple[str, str]:
    """The ``error:`` headline and the ``hint:`` the CLI printed."""
    text = " ".join(output.split())
    assert "error: " in text, output
    headline, _, hint = text.partition("error: ")[2].partition(" hint: ")
    return headline, hint


def submitted(argo: ArgoEmulator) -> str:
    result = mlp("submit", "standard-training", "--cloud", "aws")
    assert result.exit_code == 0, result.output
    ((_kind, name),) = argo.created
    return name


# ---- submit -------------------------------------------------------------------------------


def test_submit_posts_the_compiled_workflow(argo):
    # WHEN the standard pipeline is submitted through the CLI
    result = mlp("submit", "standard-training", "--cloud", "aws")
    # THEN one strictly valid Workflow was posted to the namespace, with the bearer token
    assert result.exit_code == 0, result.output
    (post,) = [r for r in argo.requests if r.method == "POST"]
    assert post.path == f"/api/v1/workflows/{NAMESPACE}"
    body = json.loads(post.body)
    assert set(body) == {"workflow"}
    # AND the body is exactly what `mlp pipeline compile` writes: nothing lost through Hera
    options = Workspace(load_settings()).compile_options("aws")
    assert body["workflow"] == compile_pipeline(standard().graph, {}, options)[0]
    assert body["workflow"]["metadata"]["namespace"] == NAMESPACE
    ((kind, name),) = argo.created
    assert kind == "Workflow"
    assert name.startswith("standard-training-")
    assert f"submitted Workflow {name} to {NAMESPACE}" in " ".join(result.output.split())


def test_submit_with_a_schedule_creates_a_template_and_a_cron_workflow(argo):
    result = mlp("submit", "standard-training", "--cloud", "gcp", "--schedule", SCHEDULE)
    assert result.exit_code == 0, result.output
    posts = [(r.path, sorted(json.loads(r.body))) for r in argo.requests if r.method == "POST"]
    assert posts == [
        (f"/api/v1/workflow-templates/{NAMESPACE}", ["template"]),
        (f"/api/v1/cron-workflows/{NAMESPACE}", ["cronWorkflow"]),
    ]
    assert set(argo.created) == {
        ("WorkflowTemplate", "standard-training"),
        ("CronWorkflow", "standard-training"),
    }
    cron = argo.created[("CronWorkflow", "standard-training")]
    assert cron["spec"]["schedules"] == [SCHEDULE]
    assert "submitted CronWorkflow standard-training" in " ".join(result.output.split())


def test_a_server_behind_a_path_prefix_gets_the_same_requests(crd_schemas, clean_env):
    # GIVEN an Argo server under /argo/ (an ingress path, ARGO_BASE_HREF)
    with Server(emulator(crd_schemas, base="/argo")) as server:
        serve(clean_env, server)
        # WHEN a workflow is submitted and read back
        result = mlp("submit", "standard-training")
        assert result.exit_code == 0, result.output
        ((_, name),) = server.emulator.created
        assert mlp("status", name, "--format", "json").exit_code == 0
        assert mlp("logs", name).exit_code == 0
    # THEN every request went under the prefix
    assert {r.path.split("/api/")[0] for r in server.emulator.requests} == {"/argo"}


# ---- status and logs ----------------------------------------------------------------------


def test_status_reports_the_phase_and_cache_hits_of_each_step(argo, validate):
    name = submitted(argo)
    validate(argo.workflow(name))  # the emulator's reply is a valid Workflow, status included
    result = mlp("status", name, "--format", "json")
    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)
    assert status["name"] == name
    assert status["phase"] == "Succeeded"
    assert status["started_at"].startswith("2026-01-01T00:00:00")
    assert status["finished_at"].startswith("2026-01-01T00:05:00")
    nodes = {n["name"]: n for n in status["nodes"]}
    assert sorted(nodes) == sorted(standard().graph.order)
    assert nodes["ingest"]["cache_hit"] is None  # retried steps are not memoized by Argo
    assert {n["cache_hit"] for n in status["nodes"]} == {None, True, False}
    assert all(n["phase"] == "Succeeded" for n in status["nodes"])
    table = mlp("status", name)
    assert table.exit_code == 0
    assert "Succeeded" in table.output


def test_logs_prints_each_pods_lines_and_filters_by_step(argo):
    name = submitted(argo)
    result = mlp("logs", name)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == len(standard().graph.order)
    assert all(line.startswith(f"{name}-") for line in lines)
    assert any(line.endswith("step train: ok") for line in lines)
    only = mlp("logs", name, "--step", "train")
    assert only.exit_code == 0
    assert only.output.splitlines() == [line for line in lines if line.endswith("step train: ok")]
    (log,) = [r for r in argo.requests if r.path.endswith("/log") and "selector" in r.query]
    assert log.query["selector"] == ["mlplatform.io/step=train"]


def test_status_of_an_unknown_workflow_is_an_argo_error(argo):
    result = mlp("status", "no-such-run")
    assert result.exit_code == 2, result.output
    assert "error:" in result.output
    assert "not found" in result.output


# ---- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["wrong-token", None], ids=["wrong", "missing"])
def test_a_bad_token_is_an_argo_error_with_a_hint(token, crd_schemas, clean_env):
    with Server(emulator(crd_schemas)) as server:
        serve(clean_env, server, token=token)
        for args in (["submit", "standard-training"], ["status", "x"], ["logs", "x"]):
            result = mlp(*args)
            assert result.exit_code == 2, result.output
            headline, hint = _error_lines(result.output)
            assert "401" in headline
            assert "token not valid" in headline
            assert "MLPLATFORM_ARGO_TOKEN" in hint
        assert not server.emulator.created


def test_the_mlp_command_prints_the_refusal_without_a_traceback(crd_schemas, clean_env, capsys):
    with Server(emulator(crd_schemas)) as server:
        serve(clean_env, server, token="wrong-token")
        clean_env.setattr(sys, "argv", ["mlp", "pipeline", "submit", "standard-training"])
        with pytest.raises(SystemExit) as exit_:
            cli.main()
    assert exit_.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "error: the Argo server refused to submit" in err
    assert "hint: Check argo_server, argo_namespace and MLPLATFORM_ARGO_TOKEN" in err
    assert "Traceback" not in err


def test_an_invalid_document_is_refused_with_the_schema_error(argo, clean_env):
    # GIVEN a compiled workflow with a malformed quantity (Hera's models let it through)
    options = Workspace(load_settings()).compile_options("aws")
    doc = compile_pipeline(standard().graph, {}, options)[0]
    doc["spec"]["templates"][2]["container"]["resources"]["limits"]["memory"] = "4 GiB"
    client = ArgoClient(os.environ["MLPLATFORM_ARGO_SERVER"], TOKEN, NAMESPACE)
    # WHEN it is submitted  THEN the server's 400 comes back as an ArgoError naming the field
    with pytest.raises(ArgoError) as err:
        client.submit(doc)
    assert "400" in err.value.headline
    assert "spec.templates.2.container.resources.limits.memory" in err.value.headline
    assert not argo.created


def test_a_document_of_another_kind_is_not_sent(argo):
    client = ArgoClient(os.environ["MLPLATFORM_ARGO_SERVER"], TOKEN, NAMESPACE)
    with pytest.raises(ArgoError, match="cannot submit a 'ConfigMap'"):
        client.submit({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
    assert not argo.requests
