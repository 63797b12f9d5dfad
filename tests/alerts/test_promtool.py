"""promtool unit tests of the drift alerts: they fire on drift and stay quiet otherwise.

promtool is a test tool (Debian package ``prometheus``): without it these tests fail and
say how to install it, they never skip.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from mlplatform.alerts import drift_rules, rule_groups, write_rules_file

INSTALL = "promtool is missing: run scripts/install-test-tools.sh (Debian package prometheus)"
CHURN = {"model": "churn", "version": "3"}
DRIFT = {"severity": "warning", "component": "drift"}


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail(INSTALL)
    return found


def series(name: str, values: str, **labels: str) -> dict[str, str]:
    inner = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{inner}}}", "values": values}


def run_promtool_test(tmp_path: Path, tests: list[dict]) -> subprocess.CompletedProcess[str]:
    write_rules_file([drift_rules()], tmp_path / "rules.yaml")
    spec = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": tests}
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return subprocess.run(
        [promtool(), "test", "rules", "test.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_rendered_rules_files_pass_promtool_check(tmp_path):
    for name, groups in (("drift", [drift_rules()]), ("all", rule_groups())):
        path = write_rules_file(groups, tmp_path / f"{name}.yaml")
        result = subprocess.run(
            [promtool(), "check", "rules", str(path)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "SUCCESS" in result.stdout
    assert (
        "SUCCESS: 2 rules found"
        in subprocess.run(
            [promtool(), "check", "rules", str(tmp_path / "drift.yaml")],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
    )


def test_data_drift_detected_fires_after_15m_of_drift_and_stays_quiet_otherwise(tmp_path):
    # GIVEN churn v3 drifts from minute 10 on, fraud v1 never, and ads v2 drifts for 5m only
    inputs = [
        series("mlplatform_drift_dataset_detected", "0x9 1x40", **CHURN, instance="a"),
        series("mlplatform_drift_dataset_detected", "0x9 1x40", **CHURN, instance="b"),
        series("mlplatform_drift_dataset_detected", "0x50", model="fraud", version="1"),
        series("mlplatform_drift_dataset_detected", "0x9 1x5 0x35", model="ads", version="2"),
    ]
    summary = "Data drift on churn version 3"
    checks = [
        {"eval_time": "5m", "alertname": "DataDriftDetected", "exp_alerts": []},
        # pending, not firing: drift has held for 10m of the 15m
        {"eval_time": "20m", "alertname": "DataDriftDetected", "exp_alerts": []},
        {
            "eval_time": "30m",
            "alertname": "DataDriftDetected",
            "exp_alerts": [
                {
                    "exp_labels": {**DRIFT, **CHURN},
                    "exp_annotations": {
                        "summary": summary,
                        "description": (
                            "The inputs of churn version 3 have drifted from its training data "
                            "for 15m: enough features changed distribution. See "
                            "mlplatform_drift_detected for which ones, and run `mlp drift check "
                            "--report` on recent inputs for the details."
                        ),
                    },
                }
            ],
        },
    ]
    # WHEN promtool evaluates the rules over the series THEN only churn v3 alerts, once
    result = run_promtool_test(
        tmp_path, [{"interval": "1m", "input_series": inputs, "alert_rule_test": checks}]
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_missing_values_alert_fires_on_a_rise_over_the_reference_only(tmp_path):
    # GIVEN income goes from 2% missing to 32%; age is always 40% missing, as in training
    inputs = [
        series("mlplatform_drift_missing_share", "0.02x9 0.32x40", **CHURN, feature="income"),
        series("mlplatform_drift_reference_missing_share", "0.02x50", **CHURN, feature="income"),
        series("mlplatform_drift_missing_share", "0.4x50", **CHURN, feature="age"),
        series("mlplatform_drift_reference_missing_share", "0.4x50", **CHURN, feature="age"),
    ]
    checks = [
        {"eval_time": "8m", "alertname": "FeatureMissingValuesHigh", "exp_alerts": []},
        {"eval_time": "20m", "alertname": "FeatureMissingValuesHigh", "exp_alerts": []},
        {
            "eval_time": "30m",
            "alertname": "FeatureMissingValuesHigh",
            "exp_alerts": [
                {
                    "exp_labels": {**DRIFT, **CHURN, "feature": "income"},
                    "exp_annotations": {
                        "summary": "Missing values in income of churn version 3",
                        "description": (
                            "income is missing 30% more often than in the training data. Check "
                            "the upstream source of this feature."
                        ),
                    },
                }
            ],
        },
        # and the drift alert stays quiet: missing values are their own signal
        {"eval_time": "30m", "alertname": "DataDriftDetected", "exp_alerts": []},
    ]
    result = run_promtool_test(
        tmp_path, [{"interval": "1m", "input_series": inputs, "alert_rule_test": checks}]
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_wrong_expectation_fails_so_the_tests_above_mean_something(tmp_path):
    inputs = [series("mlplatform_drift_dataset_detected", "0x50", model="fraud", version="1")]
    checks = [
        {
            "eval_time": "30m",
            "alertname": "DataDriftDetected",
            "exp_alerts": [{"exp_labels": {**DRIFT, "model": "fraud", "version": "1"}}],
        }
    ]
    result = run_promtool_test(
        tmp_path, [{"interval": "1m", "input_series": inputs, "alert_rule_test": checks}]
    )
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr
