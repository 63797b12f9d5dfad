"""`mlp up` for real: the team stack on free loopback ports, the standard pipeline on the team
profile through the real CLI, the faults of issue #6, and a live alert from scraped data.

One stack serves the whole module (it takes ~15 s to start); the tests run in file order and
the last one stops and restarts it to show that nothing is lost.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

from mlplatform.alerts import render_rules_file, rule_groups
from mlplatform.alerts.rule import RuleGroup
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.components.standard import standard_training
from mlplatform.errors import MlplatformError
from mlplatform.pipelines.local import LocalExecutor, RunOptions
from mlplatform.services import (
    ServiceStatus,
    Supervisor,
    object_store,
    registered_targets,
)
from mlplatform.services._process import alive, wait_until
from mlplatform.services.seaweedfs import s3_client
from mlplatform.tracking.observer import MlflowObserver

from ._model_server import Load, ServedModel, flaky_model
from .conftest import cli_env, config, project_home, running

SHORT = "3s"  # the test copy of the rules holds conditions for 3 s instead of minutes


def short_rules() -> dict[str, str]:
    groups = [
        RuleGroup(g.name, tuple(replace(r, for_=SHORT) if r.for_ != "0s" else r for r in g.rules))
        for g in rule_groups()
    ]
    return {"platform.rules.yml": render_rules_file(groups)}


@pytest.fixture(scope="module")
def team() -> Any:
    with project_home() as home:
        cfg = config(home, scrape_interval="1s", rules=short_rules(), watch_interval=0.5)
        with running(cfg) as supervisor:
            yield supervisor


def mlp(team: Supervisor, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "mlplatform", *args],
        cwd=team.cfg.home.parent.parent,
        env=cli_env(team.cfg),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"mlp {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def status(team: Supervisor) -> dict[str, dict[str, Any]]:
    result = mlp(team, "status", "--format", "json", check=False)
    return {s["name"]: s for s in json.loads(result.stdout)}


def prometheus_api(team: Supervisor, path: str, **params: str) -> Any:
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    with urllib.request.urlopen(f"{team.cfg.url('prometheus')}/api/v1/{path}{query}") as resp:
        return json.load(resp)["data"]


def alert_states(team: Supervisor, name: str) -> dict[str, str]:
    """label set (as text) -> pending/firing, for alert ``name``."""
    alerts = prometheus_api(team, "alerts")["alerts"]
    return {
        json.dumps(a["labels"], sort_keys=True): a["state"]
        for a in alerts
        if a["labels"]["alertname"] == name
    }


def mlflow_client(team: Supervisor) -> MlflowClient:
    uri = team.cfg.url("mlflow")
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def bucket_keys(team: Supervisor, prefix: str) -> list[str]:
    client = s3_client(team.cfg, team.creds)
    pages = client.get_paginator("list_objects_v2").paginate(Bucket="mlplatform", Prefix=prefix)
    return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


def test_up_starts_every_service_healthy_and_a_second_up_changes_nothing(team):
    # GIVEN the team stack is up WHEN `mlp status` asks
    first = status(team)
    # THEN every service runs, on loopback, with a log
    assert {n: s["state"] for n, s in first.items()} == dict.fromkeys(
        ("postgres", "seaweedfs", "mlflow", "audit-receiver", "alertmanager", "prometheus"),
        "running",
    )
    assert all("127.0.0.1" in s["url"] for s in first.values())
    assert all(Path(s["log"]).is_file() for s in first.values())
    # AND `up` again starts nothing new (same PIDs)
    again = {s.name: s.pid for s in team.up()}
    assert again == {n: s["pid"] for n, s in first.items()}


def test_standard_pipeline_on_the_team_profile_keeps_everything_in_s3(team):
    # GIVEN the team profile (MLPLATFORM_PROFILE=team) and nothing but `mlp up`'s services
    # WHEN the standard pipeline runs through the real CLI, steps as subprocesses
    mlp(team, "pipeline", "run", "standard-training", "-p", "model=logreg",
        "-p", "model_name=team-model")  # fmt: skip
    # THEN the model is registered on the MLflow server (PostgreSQL) as champion
    client = mlflow_client(team)
    versions = client.search_model_versions("name='team-model'")
    assert [int(v.version) for v in versions] == [1]
    assert client.get_model_version_by_alias("team-model", "champion").version == "1"
    # AND the pipeline's artifacts and cache index are objects in the S3 bucket
    assert bucket_keys(team, "artifacts/objects/sha256/")
    assert bucket_keys(team, "artifacts/cache/")
    # AND MLflow's artifacts (the logged model) went through the server into the same bucket
    assert any(key.endswith("MLmodel") for key in bucket_keys(team, "mlartifacts/"))
    run = client.get_run(versions[0].run_id)
    assert run.info.artifact_uri.startswith("mlflow-artifacts:")


def test_mlflow_killed_and_restarted_clients_recover_and_nothing_is_lost(team):
    client = mlflow_client(team)
    before = {m.name: m.latest_versions for m in client.search_registered_models()}
    runs_before = {r.info.run_id for r in client.search_runs(_experiment_ids(client))}
    pid = team.status(["mlflow"])[0].pid
    assert pid is not None
    # GIVEN the MLflow server is killed
    os.killpg(pid, signal.SIGKILL)
    # THEN Prometheus sees it down and MLflowDown goes pending, then firing
    wait_until(lambda: "firing" in alert_states(team, "MLflowDown").values(), 30, 0.5)
    assert "firing" in alert_states(team, "MLflowDown").values()
    # WHEN a client asks while it is down, and the watcher's heal restarts it
    answer: dict[str, Any] = {}
    asking = threading.Thread(
        target=lambda: answer.update(models=client.search_registered_models()), daemon=True
    )
    asking.start()
    assert team.heal() == ["mlflow"]
    asking.join(120)
    # THEN the client got its answer (it retried), and every run and model is still there
    assert {m.name for m in answer["models"]} == set(before)
    assert {r.info.run_id for r in client.search_runs(_experiment_ids(client))} == runs_before
    assert team.status(["mlflow"])[0].restarts == 1
    wait_until(lambda: "firing" not in alert_states(team, "MLflowDown").values(), 30, 0.5)
    assert not alert_states(team, "MLflowDown")


def _experiment_ids(client: MlflowClient) -> list[str]:
    return [e.experiment_id for e in client.search_experiments()]


def test_postgres_restarted_during_a_run_loses_or_half_writes_nothing(team):
    store = object_store(team.cfg, team.creds, "s3")
    uri = team.cfg.url("mlflow")
    restarted: list[str] = []

    class RestartsPostgres(MlflowObserver):
        """Restarts PostgreSQL as the first executed step starts: mid-run, whatever is cached."""

        def step_started(self, run: Any, node: str, cache_key: str) -> str | None:
            run_id = super().step_started(run, node, cache_key)
            if not restarted:
                restarted.append(node)
                team.restart("postgres")
            return run_id

    executor = LocalExecutor(
        ArtifactStore(store.pipeline_root, store.storage_options),
        RunOptions(
            in_process=True,
            env={"MLFLOW_TRACKING_URI": uri},
            observer=RestartsPostgres(uri, "pg-restart"),
        ),
    )
    # a model name of its own: its register step can never be a cache hit
    params = {"model": "logreg", "model_name": "pg-model", "seed": "3"}
    outcome: dict[str, Any] = {}

    # GIVEN a pipeline run in progress (its parent run and a step run recorded)
    # WHEN PostgreSQL restarts under it
    try:
        outcome["result"] = executor.run(standard_training.graph, params)
    except MlplatformError as exc:  # a failure must be one of ours, with a clear message
        outcome["error"] = exc
    assert restarted, "no step ran, so PostgreSQL never restarted during the run"
    # THEN the run completed, or failed with our error naming what failed
    if "error" in outcome:
        assert outcome["error"].headline
        assert outcome["error"].hint
    print(f"\nrun across the PostgreSQL restart: {outcome.get('error') or 'completed'}")
    # AND a re-run completes; the registry holds one version per model, all READY
    executor.run(standard_training.graph, params)
    client = mlflow_client(team)
    versions = client.search_model_versions("name='pg-model'")
    assert len(versions) == 1
    assert all(v.status == "READY" for v in versions)
    # AND no run was left RUNNING: each finished or was marked failed
    experiment = client.get_experiment_by_name("pg-restart")
    runs = client.search_runs([experiment.experiment_id])
    assert runs
    assert {r.info.status for r in runs} <= {"FINISHED", "FAILED", "KILLED"}


def test_a_dead_service_is_reported_by_status_and_restarted_by_the_watcher(team):
    first_pid = team.status(["alertmanager"])[0].pid
    assert first_pid is not None
    # GIVEN Alertmanager dies
    os.kill(first_pid, signal.SIGKILL)
    wait_until(lambda: team.status(["alertmanager"])[0].state == "dead", 10)
    # THEN `mlp status` reports it dead, and exits 1
    result = mlp(team, "status", check=False)
    assert result.returncode == 1
    assert "dead" in result.stdout
    # WHEN the watcher runs (as `mlp up` starts it) THEN it restarts it
    team.start_watcher()
    try:
        log = team.cfg.log("watch")
        assert wait_until(lambda: "restarted alertmanager" in log.read_text(), 30, 0.3)
        now = am(team)
        assert now.state == "running"
        assert now.restarts == 1
        assert now.last_exit == f"pid {first_pid} exited"
        # AND when it dies again, the watcher (now its parent) knows how
        assert now.pid is not None
        os.kill(now.pid, signal.SIGKILL)
        assert wait_until(lambda: am(team).restarts == 2 and am(team).state == "running", 30, 0.3)
        assert am(team).last_exit == "killed by SIGKILL"
    finally:
        team.stop_watcher()
    assert not team.watcher_running()


def am(team: Supervisor) -> ServiceStatus:
    return team.status(["alertmanager"])[0]


def test_error_rate_alert_goes_pending_then_firing_from_a_scraped_model_server(
    team, tmp_path_factory
):
    cfg = team.cfg
    models = tmp_path_factory.mktemp("served")
    flaky_dir = flaky_model(models / "flaky")
    steady_dir = flaky_model(models / "steady")
    cwd, env = team.cfg.home.parent.parent, cli_env(team.cfg)
    # GIVEN two real model servers (`mlp serve` on the team profile registers each for
    # scraping): one gets a third of its requests with inputs its model fails on
    with (
        ServedModel(flaky_dir, cwd, env, cfg.targets_dir) as flaky,
        ServedModel(steady_dir, cwd, env, cfg.targets_dir) as steady,
    ):
        # WHEN both are under load
        with Load(flaky.port, "flaky", bad=1 / 3) as flaky_load, Load(steady.port, "steady", 0):
            seen: list[str] = []

            def state() -> str | None:
                found = [
                    s
                    for labels, s in alert_states(team, "HighInferenceErrorRate").items()
                    if json.loads(labels).get("model") == "flaky"
                ]
                if found and (not seen or seen[-1] != found[0]):
                    seen.append(found[0])
                return found[0] if found else None

            firing = wait_until(lambda: state() == "firing", 60, 0.2)
            # THEN Prometheus (real, scraping by file discovery) had the alert pending,
            # then firing, for the flaky server only
            assert firing, f"alert states seen: {seen}; flaky answers: {flaky_load.codes}"
            assert seen[:2] == ["pending", "firing"]
            models_alerting = {
                json.loads(labels)["model"]
                for labels in alert_states(team, "HighInferenceErrorRate")
            }
            assert models_alerting == {"flaky"}

            # AND both servers are scrape targets, each up once Prometheus has scraped it
            # (a target found by file discovery reads "unknown" until its first scrape)
            def served() -> dict[str, str]:
                targets = prometheus_api(team, "targets")["activeTargets"]
                return {
                    t["labels"]["model"]: t["health"]
                    for t in targets
                    if t["labels"]["job"] == "model-servers"
                }

            assert wait_until(lambda: served() == {"flaky": "up", "steady": "up"}, 30, 0.3), (
                served()
            )
            # AND Alertmanager received it
            assert wait_until(lambda: _in_alertmanager(team, "HighInferenceErrorRate"), 30)
        # AND the flaky server answered 500 (never hung or refused) and stayed up
        assert set(flaky_load.codes) == {200, 500}, flaky_load.codes
    # AND each server removed its scrape target when it stopped
    assert not {"flaky-primary", "steady-primary"} & set(registered_targets(cfg.targets_dir))


def _in_alertmanager(team: Supervisor, name: str) -> bool:
    url = f"{team.cfg.url('alertmanager')}/api/v2/alerts"
    with urllib.request.urlopen(url) as resp:
        return any(a["labels"]["alertname"] == name for a in json.load(resp))


def test_down_stops_everything_by_pid_and_up_finds_the_same_runs_and_models(team):
    client = mlflow_client(team)
    models = {m.name for m in client.search_registered_models()}
    runs = {r.info.run_id for r in client.search_runs(_experiment_ids(client))}
    objects = set(bucket_keys(team, "artifacts/"))
    records = team.state_file.load().services
    # WHEN `mlp down` runs
    began = time.monotonic()
    result = mlp(team, "down")
    took_down = time.monotonic() - began
    # THEN every process it started is gone
    assert "seaweedfs" in result.stdout
    assert not any(alive(r.proc) for r in records.values())
    assert team.status() == []
    # WHEN `up` runs again THEN the same runs, models and objects are there
    began = time.monotonic()
    team.up()
    took_up = time.monotonic() - began
    client = mlflow_client(team)
    assert {m.name for m in client.search_registered_models()} == models
    assert {r.info.run_id for r in client.search_runs(_experiment_ids(client))} == runs
    assert objects <= set(bucket_keys(team, "artifacts/"))
    print(f"\nmlp down: {took_down:.1f}s, up again: {took_up:.1f}s")
