"""`mlp drift`: profile, check (exit 0/1/2), monitor, and help with examples."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from mlplatform.cli.app import app

from .conftest import frame


@pytest.fixture
def project(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith(("MLPLATFORM_", "MLFLOW_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    frame(seed=0).to_parquet(tmp_path / "train.parquet")
    frame(seed=1).to_parquet(tmp_path / "clean.parquet")
    frame(seed=2, shift=0.5).to_csv(tmp_path / "shifted.csv", index=False)
    return tmp_path


def mlp(*args: str):
    return CliRunner().invoke(app, list(args))


def test_every_drift_command_has_help_with_an_example():
    for command in ("profile", "check", "monitor"):
        result = mlp("drift", command, "--help")
        assert result.exit_code == 0
        assert "Example: mlp drift" in result.output


def test_profile_then_check_clean_exits_0_and_shifted_exits_1(project):
    made = mlp("drift", "profile", "train.parquet", "-o", "ref.npz", "--format", "json")
    assert made.exit_code == 0, made.output
    summary = json.loads(made.output)
    assert summary["rows"] == 2000
    assert summary["columns"]["plan"]["kind"] == "categorical"

    calm = mlp("drift", "check", "--reference", "ref.npz", "--current", "clean.parquet")
    assert calm.exit_code == 0, calm.output
    assert "no drift" in calm.output

    moved = mlp("drift", "check", "-r", "ref.npz", "-c", "shifted.csv", "--format", "json")
    assert moved.exit_code == 1
    body = json.loads(moved.output)
    assert body["drifted"] is True
    assert set(body["drifted_columns"]) == {"income", "plan"}


def test_check_writes_the_report_and_reads_raw_reference_data(project):
    result = mlp(
        "drift", "check", "-r", "train.parquet", "-c", "shifted.csv", "--report", "out/d.html"
    )
    assert result.exit_code == 1
    assert "DRIFT" in result.output
    html = (project / "out" / "d.html").read_text()
    assert html.count('class="dist-plot"') == 4


def test_flags_override_the_settings_which_override_defaults(project):
    (project / "mlplatform.toml").write_text("[drift]\nnumeric_test = 'psi'\n")
    body = json.loads(
        mlp("drift", "check", "-r", "train.parquet", "-c", "clean.parquet", "-f", "json").output
    )
    assert body["config"]["numeric_test"] == "psi"
    body = json.loads(
        mlp(
            "drift",
            "check",
            "-r",
            "train.parquet",
            "-c",
            "clean.parquet",
            "--numeric-test",
            "wasserstein",
            "-f",
            "json",
        ).output
    )
    assert body["config"]["numeric_test"] == "wasserstein"
    body = json.loads(
        mlp(
            "drift",
            "check",
            "-r",
            "train.parquet",
            "-c",
            "clean.parquet",
            "--mode",
            "evidently",
            "-f",
            "json",
        ).output
    )
    assert body["config"]["mode"] == "evidently"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-r", "ref.npz", "-c", "missing.parquet"), "no data file at missing.parquet"),
        (("-r", "nothing.npz", "-c", "clean.parquet"), "no reference at nothing.npz"),
        (("-r", "train.parquet", "-c", "clean.parquet", "--alpha", "2"), "alpha"),
        (("-r", "train.parquet", "-c", "clean.parquet", "--columns", "zzz"), "zzz"),
        (("-r", "models:/only-a-name", "-c", "clean.parquet"), "models:/NAME@ALIAS"),
    ],
)
def test_bad_input_exits_2_with_a_headline_and_a_hint(project, args, message):
    mlp("drift", "profile", "train.parquet", "-o", "ref.npz")
    result = mlp("drift", "check", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "hint:" in result.output


def test_as_a_process_errors_have_no_traceback(project):
    done = subprocess.run(
        [sys.executable, "-m", "mlplatform", "drift", "check", "-r", "x.npz", "-c", "y.csv"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "error: no data file at y.csv" in done.stderr or "no reference" in done.stderr
    assert "Traceback" not in done.stderr


def test_monitor_windows_files_and_writes_gauges(project):
    result = mlp(
        "drift",
        "monitor",
        "-r",
        "train.parquet",
        "-c",
        "clean.parquet",
        "-c",
        "shifted.csv",
        "--window-rows",
        "2000",
        "--model",
        "churn",
        "--model-version",
        "3",
        "--metrics-file",
        "drift.prom",
        "-f",
        "json",
    )
    assert result.exit_code == 1
    windows = json.loads(result.output)["windows"]
    assert [w["drifted"] for w in windows] == [False, True]
    gauges = (project / "drift.prom").read_text()
    assert 'mlplatform_drift_dataset_detected{model="churn",version="3"} 1.0' in gauges
