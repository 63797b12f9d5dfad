"""Every example under examples/ runs (with the default subprocess executor)."""

from __future__ import annotations

from ._mlp import ROOT, mlp, mlp_json

CHURN = str(ROOT / "examples" / "pipelines" / "churn" / "pipeline.py")


def test_churn_example_runs_and_registers(tmp_path):
    result = mlp(
        "pipeline", "run", "churn-training", "--file", CHURN, "--format", "json", cwd=tmp_path
    )
    assert '"status": "succeeded"' in result.stdout
    versions = mlp_json("models", "show", "churn-model", cwd=tmp_path)
    assert versions[0]["version"] == 1
    plan = mlp_json(
        "pipeline", "plan", "churn-training", "--file", CHURN, "-p", "model=gbm", cwd=tmp_path
    )
    status = {e["node"]: e["status"] for e in plan}
    assert status["drop-leaky-columns"] == "hit"
    assert status["train"] == "miss"
