"""`mlp demo` end to end: train, a fully cached second run, registry with lineage and aliases."""

from __future__ import annotations

from mlplatform.tracking import alias_history, list_versions

from ._mlp import mlp, mlp_json


def test_demo_runs_twice_second_fully_cached(demo_project):
    project, result = demo_project
    out = result.stdout
    assert "second run (everything cached)" in out
    runs = mlp_json("runs", "list", cwd=project)
    assert len(runs) == 2
    assert all(r["status"] == "FINISHED" for r in runs)
    assert "Try next" in out
    assert "mlp pipeline plan" in out
    # state stays under .mlplatform: no ./mlruns, no ./mlartifacts
    assert (project / ".mlplatform" / "mlflow.db").is_file()
    assert not (project / "mlruns").exists()
    assert not (project / "mlartifacts").exists()


def test_demo_serves_the_champion_and_checks_the_sampled_payloads(demo_project):
    # GIVEN the demo ran WHEN its output and store are read
    project, result = demo_project
    out = result.stdout
    # THEN it served v1 and every request's payload reached the store (only answered
    # requests are sampled, so all 400 were answered)
    assert "serving the champion" in out
    samples = list((project / ".mlplatform" / "artifacts" / "serving-samples").rglob("*.parquet"))
    assert samples, "the server flushed no payload samples"
    import pandas as pd

    frame = pd.concat(pd.read_parquet(path) for path in samples)
    assert len(frame) == 400
    assert set(frame["model_version"]) == {"1"}
    # AND the sampled (shifted) payloads were checked for drift, with a report
    assert "served (sampled)" in out
    assert (project / ".mlplatform" / "drift" / "demo-served.html").is_file()


def test_demo_registers_champion_with_lineage(demo_project):
    project, _ = demo_project
    versions = mlp_json("models", "show", "demo-breast-cancer", cwd=project)
    assert [v["version"] for v in versions] == [1]
    v1 = versions[0]
    assert set(v1["aliases"]) == {"champion", "challenger", "production"}
    tags = v1["tags"]
    for tag in (
        "mlplatform.pipeline_run_id",
        "mlplatform.data_digest",
        "mlplatform.cache_keys",
        "mlplatform.model_digest",
    ):
        assert tags.get(tag), tag
    assert tags["mlplatform.data_digest"].startswith("sha256:")
    assert v1["metrics"]["accuracy"] > 0.85


def test_demo_takes_the_version_to_production_through_an_approval(demo_project):
    # GIVEN the demo ran WHEN its output, the registry and the audit log are read
    project, result = demo_project
    out = " ".join(result.stdout.split())
    # THEN the promotion without an approval was refused, naming the missing rules
    assert "governance: the way to production" in out
    assert "refused without an approval (production.approval" in out
    # AND a second person approved it under a ticket, and it is in production
    [v1] = mlp_json("models", "show", "demo-breast-cancer/1", cwd=project)
    assert (v1["stage"], v1["semver"]) == ("production", "1.0.0")
    assert v1["approval"] == "approved by demo-reviewer (DEMO-1)"
    assert v1["tags"]["mlplatform.author"] != "demo-reviewer"
    # AND every step is in the audit log, which verifies
    records = mlp_json("audit", "list", "--model", "demo-breast-cancer", cwd=project)
    kinds = [r["what"] for r in records]
    assert kinds[:3] == ["register", "alias", "alias"]  # registered, challenger, champion
    assert kinds[3:] == ["refused", "approve", "promote", "alias"]  # production alias
    assert "intact" in mlp("audit", "verify", cwd=project).stdout


def test_demo_version_has_a_model_card(demo_project):
    project, _ = demo_project
    mlp("models", "card", "demo-breast-cancer@champion", "-o", "card.html", cwd=project)
    html = (project / "card.html").read_text()
    assert "demo-breast-cancer" in html
    assert 'data-plot="roc' in html
    # AND its lineage names each step's MLflow run and the train step's code hash
    for step in ("ingest", "featurize", "train", "evaluate", "register"):
        assert f"step run: {step}" in html
    assert "<td>code hash</td>" in html


def test_demo_again_registers_nothing_new(demo_project):
    # GIVEN the demo ran WHEN a run with the same inputs happens THEN no second version appears
    project, _ = demo_project
    mlp(
        "pipeline",
        "run",
        "standard-training",
        "-p",
        "model_name=demo-breast-cancer",
        "-p",
        "source=sklearn://breast_cancer",
        "--force",
        "register",
        cwd=project,
    )
    versions = mlp_json("models", "show", "demo-breast-cancer", cwd=project)
    assert [v["version"] for v in versions] == [1]


def test_second_model_promote_and_rollback_record_who_and_why(demo_project):
    project, _ = demo_project
    uri = f"sqlite:///{project}/.mlplatform/mlflow.db"
    mlp(
        "pipeline",
        "run",
        "standard-training",
        "-p",
        "model=logreg",
        "-p",
        "model_name=demo-breast-cancer",
        "--in-process",
        cwd=project,
    )
    by_version = {v.version: v for v in list_versions("demo-breast-cancer", tracking_uri=uri)}
    assert set(by_version) == {1, 2}
    assert "challenger" in by_version[2].aliases

    mlp(
        "models",
        "promote",
        "demo-breast-cancer",
        "--version",
        "2",
        "--alias",
        "champion",
        "--reason",
        "logreg is simpler",
        cwd=project,
    )
    v2 = {v.version: v for v in list_versions("demo-breast-cancer", tracking_uri=uri)}[2]
    assert "champion" in v2.aliases
    assert any(v == "logreg is simpler" for k, v in v2.tags.items() if "reason" in k)

    mlp("models", "rollback", "demo-breast-cancer", "--reason", "regression", cwd=project)
    after = {v.version: v for v in list_versions("demo-breast-cancer", tracking_uri=uri)}
    holder = [n for n, v in after.items() if "champion" in v.aliases]
    assert holder == [1]
    assert [c.reason for c in alias_history("demo-breast-cancer", tracking_uri=uri)][
        -1
    ] == "regression"


def test_rejected_rollback_changes_nothing(demo_project):
    project, _ = demo_project
    before = mlp_json("models", "show", "demo-breast-cancer", cwd=project)
    result = mlp(
        "models", "promote", "demo-breast-cancer", "--version", "99", cwd=project, check=False
    )
    assert result.returncode == 2
    assert "error:" in result.stderr
    assert "Traceback" not in result.stderr
    assert mlp_json("models", "show", "demo-breast-cancer", cwd=project) == before
