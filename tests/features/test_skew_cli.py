"""`mlp features skew` end to end on a small local store: exit 0 when clean, 1 with the
skewed feature when the online store was written by hand, 2 with a hint when it cannot run;
and ``compare_values``, the measure, on frames built by hand."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import mlplatform.cli.features_skew  # noqa: F401  (registers `mlp features skew`)
from mlplatform.cli.app import app
from mlplatform.drift.skew import compare_values
from mlplatform.features import open_store
from mlplatform.settings import Settings
from mlplatform.workspace import Workspace

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pipelines" / "churn" / "features"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project with the churn example's feature repository, ingested, applied and
    materialized through the CLI."""
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(EXAMPLE, root / "features", ignore=shutil.ignore_patterns("__pycache__"))
    patch = pytest.MonkeyPatch()
    for name in [n for n in os.environ if n.startswith(("MLPLATFORM_", "MLFLOW_"))]:
        patch.delenv(name)
    patch.chdir(root)
    runner = CliRunner()
    for args in (
        [
            "ingest",
            "synthetic://churn-activity",
            "--path",
            "customer_activity.parquet",
            "--rows",
            "30",
        ],
        ["apply"],
        ["materialize", "--incremental"],
    ):
        done = runner.invoke(app, ["features", *args])
        assert done.exit_code == 0, done.output
    activity = pd.read_parquet(next(root.glob(".mlplatform/artifacts/features/*.parquet")))
    activity[["customer_id"]].drop_duplicates().to_parquet(root / "keys.parquet")
    yield root, runner, activity
    patch.undo()


def _skew(runner, *args):
    return runner.invoke(app, ["features", "skew", *args, "--format", "json"])


def test_a_clean_store_exits_0_and_writes_the_report_and_gauges(project):
    root, runner, _ = project
    done = _skew(
        runner, "--service", "churn", "--entities", "keys.parquet",
        "--report", "skew.html", "--metrics-file", "skew.prom",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    found = json.loads(done.output)
    assert found["skewed"] is False
    assert found["entities"] == 30
    assert '<section id="skew">' in (root / "skew.html").read_text()
    assert (
        'mlplatform_feature_skew{feature="spend_30d",kind="value"'
        in (root / "skew.prom").read_text()
    )


def test_a_hand_written_online_value_exits_1_naming_the_feature(project):
    _, runner, activity = project
    store = open_store(Workspace(Settings()).feature_store())
    latest = activity.sort_values("event_timestamp").groupby("customer_id").tail(1).head(3)
    store.write_to_online_store(
        "customer_activity",
        df=latest.assign(plan="enterprise-x", event_timestamp=datetime.now(UTC)),
    )

    done = _skew(runner, "--service", "churn", "--entities", "keys.parquet")

    assert done.exit_code == 1, done.output
    found = json.loads(done.output)
    assert found["skewed_features"] == ["plan"]
    plan = next(v for v in found["values"] if v["feature"] == "plan")
    assert plan["mismatches"] == 3
    assert plan["mismatch_rate"] == pytest.approx(0.1)


def test_without_a_model_or_service_it_says_what_to_pass(project):
    _, runner, _ = project
    done = runner.invoke(app, ["features", "skew"])
    assert done.exit_code != 0
    assert "--service" in str(done.exception) + done.output


def test_compare_values_exact_for_categories_tolerant_for_numbers():
    offline = pd.DataFrame(
        {"id": [1, 2, 3, 4], "x": [1.0, 2.0, None, 4.0], "c": ["a", "b", "c", None]}
    )
    online = pd.DataFrame(
        {"id": [1, 2, 3, 4], "x": [1.0 + 1e-12, 2.5, None, None], "c": ["a", "B", "c", "d"]}
    )
    x, c = compare_values(offline, online, ["id"], ["x", "c"], tolerance=1e-9)
    # 1: equal within tolerance; 2: differs; 3: missing on both sides; 4: missing online
    assert (x.kind, x.compared, x.mismatches, x.missing_online) == ("numeric", 3, 2, 1)
    assert x.max_abs_diff == pytest.approx(0.5)
    assert (c.kind, c.compared, c.mismatches, c.missing_offline) == ("categorical", 4, 2, 1)
    assert c.examples[0] == ("2", "b", "B")
