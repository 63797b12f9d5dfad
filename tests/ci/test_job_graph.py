"""The workflows have the design's shape: jobs, `needs:` edges, permissions, pins, OIDC variables.

The OIDC variables must name bootstrap outputs (`<CLOUD>_<OUTPUT>`, upper case; map outputs are
JSON and read with fromJSON(...).<key>), and the BOOTSTRAP_* values a backend step passes must be
enough for infrastructure/terraform/scripts/bootstrap_outputs.py to write that cloud's files.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

from ._checks import ACTIONS, GITHUB, REPO

TERRAFORM = REPO / "infrastructure" / "terraform"
CLOUDS = ("aws", "azure", "gcp")
PREFIX = {"AWS": "aws", "AZURE": "azure", "GCP": "gcp"}
CHECKS = {"validate-manifests", "lint-python", "validate-terraform", "security-scan", "test-python"}
PLANS = {f"terraform-plan-{cloud}" for cloud in CLOUDS}
USES = re.compile(r"^\s*(?:- )?uses: (\S+)(.*)$")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"^ # v\d+\.\d+\.\d+$")


def _load(name: str) -> dict[str, Any]:
    data: dict[Any, Any] = yaml.safe_load((GITHUB / "workflows" / name).read_text())
    data["on"] = data.pop(True)  # YAML 1.1 reads the key `on` as true
    return data


def _outputs(cloud: str) -> dict[str, str]:
    """Bootstrap output name -> its value expression, parsed with python-hcl2."""
    with (TERRAFORM / "bootstrap" / cloud / "outputs.tf").open() as handle:
        parsed = hcl2.load(handle)
    # python-hcl2 7.x keeps the quotes of block labels: '"state_bucket"'
    return {
        name.strip('"'): str(body["value"])
        for block in parsed["output"]
        for name, body in block.items()
    }


def _variables(text: str) -> set[tuple[str, str | None]]:
    """(variable, fromJSON key or None) for every vars.X in a workflow's text."""
    found = {
        (m[1], m[2] or None)
        for m in re.finditer(r"fromJSON\(vars\.(\w+) \|\| '\{\}'\)\.(\w+)", text)
    }
    plain = {(name, None) for name in re.findall(r"vars\.(\w+)", text)}
    return found | {entry for entry in plain if entry[0] not in {n for n, _ in found}}


def _bootstrap_outputs_module() -> Any:
    path = TERRAFORM / "scripts" / "bootstrap_outputs.py"
    spec = importlib.util.spec_from_file_location("bootstrap_outputs", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ci_runs_on_pushes_to_main_and_on_pull_requests() -> None:
    on = _load("ci.yaml")["on"]
    assert on == {"push": {"branches": ["main"]}, "pull_request": None}


def test_ci_has_the_designs_jobs_and_edges() -> None:
    jobs = _load("ci.yaml")["jobs"]
    assert set(jobs) == CHECKS | PLANS
    for name in CHECKS:
        assert "needs" not in jobs[name], f"{name} must start at once"
    for name in PLANS:
        assert set(jobs[name]["needs"]) == CHECKS, f"{name} must wait for every check"
    assert jobs["validate-terraform"]["strategy"]["matrix"]["cloud"] == list(CLOUDS)


def test_the_checks_run_the_repositorys_own_targets() -> None:
    jobs = _load("ci.yaml")["jobs"]
    runs = {name: " ".join(step.get("run", "") for step in jobs[name]["steps"]) for name in CHECKS}
    assert "make manifests" in runs["validate-manifests"]
    assert "make lint" in runs["lint-python"]
    assert "make test" in runs["test-python"]
    assert "make infra-checkov" in runs["security-scan"]
    assert "init -backend=false" in runs["validate-terraform"]
    assert 'terraform -chdir="$root" validate' in runs["validate-terraform"]
    trivy = [s for s in jobs["security-scan"]["steps"] if "trivy-action" in s.get("uses", "")]
    assert {step["with"]["scan-ref"] for step in trivy} == {"infrastructure", "Dockerfile"}
    assert all(step["with"]["scan-type"] == "config" for step in trivy)


def test_id_token_write_only_where_a_cloud_identity_is_used() -> None:
    for name, wanted in (("ci.yaml", PLANS), ("apply.yaml", {"apply"})):
        workflow = _load(name)
        assert workflow["permissions"] == {"contents": "read"}
        for job_name, job in workflow["jobs"].items():
            permissions = job.get("permissions", {})
            if job_name in wanted:
                assert permissions == {"contents": "read", "id-token": "write"}
            else:
                assert "id-token" not in permissions, f"{name}: {job_name}"


def test_plans_run_outside_environments_and_apply_inside_the_protected_one() -> None:
    # The bootstrap trusts plan tokens by event subject (pull_request, refs/heads/...) and apply
    # tokens only with the subject `environment:<name>`, which GitHub sets for environment jobs.
    ci, apply = _load("ci.yaml")["jobs"], _load("apply.yaml")["jobs"]["apply"]
    assert all("environment" not in ci[name] for name in PLANS)
    assert apply["environment"] == "${{ inputs.environment }}"
    assert apply["if"] == "github.ref == 'refs/heads/main'"


def test_apply_offers_every_cloud_and_the_environments_that_exist() -> None:
    inputs = _load("apply.yaml")["on"]["workflow_dispatch"]["inputs"]
    assert inputs["cloud"]["options"] == list(CLOUDS)
    for cloud in CLOUDS:
        folders = sorted(
            p.name for p in (TERRAFORM / "environments" / cloud).iterdir() if p.is_dir()
        )
        assert inputs["environment"]["options"] == folders
    assert inputs["root"]["options"] == ["cluster", "platform"]


def test_concurrency_cancels_pull_requests_but_never_an_apply() -> None:
    assert _load("ci.yaml")["concurrency"]["cancel-in-progress"] == (
        "${{ github.event_name == 'pull_request' }}"
    )
    assert _load("apply.yaml")["concurrency"]["cancel-in-progress"] is False


def test_uv_and_terraform_plugins_are_cached() -> None:
    setup = (GITHUB / "actions" / "setup-python" / "action.yml").read_text()
    assert "enable-cache: true" in setup
    for name in ("ci.yaml", "apply.yaml"):
        workflow = _load(name)
        assert workflow["env"]["TF_PLUGIN_CACHE_DIR"]
        for job_name, job in workflow["jobs"].items():
            text = json.dumps(job)
            if "setup-terraform" in text:
                cache = [s for s in job["steps"] if "actions/cache@" in s.get("uses", "")]
                assert cache, f"{name}: {job_name} does not cache provider downloads"
                assert cache[0]["with"]["path"] == "${{ env.TF_PLUGIN_CACHE_DIR }}"
                assert ".terraform.lock.hcl" in cache[0]["with"]["key"]


def test_every_plan_is_uploaded() -> None:
    jobs = _load("ci.yaml")["jobs"]
    for name in PLANS:
        uploads = [s for s in jobs[name]["steps"] if "upload-artifact@" in s.get("uses", "")]
        assert len(uploads) == 1
        assert name.removeprefix("terraform-plan-") in uploads[0]["with"]["name"]


def _uses_lines() -> list[tuple[Path, str, str]]:
    files = [*sorted((GITHUB / "workflows").glob("*.yaml")), *ACTIONS]
    found = []
    for path in files:
        for line in path.read_text().splitlines():
            match = USES.match(line)
            if match:
                found.append((path, match[1], match[2]))
    return found


def test_every_action_is_pinned_by_commit_sha_with_its_tag() -> None:
    pins: dict[str, set[str]] = {}
    for path, ref, comment in _uses_lines():
        if ref.startswith("./.github/actions/"):
            assert (REPO / ref / "action.yml").is_file(), ref
            continue
        assert PINNED.match(ref), f"{path.name}: {ref} is not pinned to a full commit SHA"
        assert VERSION_COMMENT.match(comment), f"{path.name}: {ref} lacks '# vX.Y.Z'"
        pins.setdefault(ref.split("@")[0], set()).add(ref + comment)
    assert all(len(refs) == 1 for refs in pins.values()), f"one pin per action: {pins}"
    assert len(pins) >= 10


def test_the_pin_check_rejects_a_tag_and_a_short_sha() -> None:
    assert not PINNED.match("actions/checkout@v5")
    assert not PINNED.match("actions/checkout@3d3c42e")


@pytest.mark.parametrize("name", ["ci.yaml", "apply.yaml"])
def test_every_variable_names_a_bootstrap_output(name: str) -> None:
    text = (GITHUB / "workflows" / name).read_text()
    variables = _variables(text)
    assert variables, "the workflow reads no variables"
    for variable, key in variables:
        cloud = PREFIX[variable.split("_")[0]]
        output = variable.split("_", 1)[1].lower()
        outputs = _outputs(cloud)
        assert output in outputs, f"vars.{variable}: bootstrap/{cloud} has no output {output!r}"
        if key is not None:  # a map output: its keys are the for_each of plan and apply
            main = (TERRAFORM / "bootstrap" / cloud / "main.tf").read_text()
            assert 'toset(["plan", "apply"])' in main, variable
            assert key in ("plan", "apply"), variable


def test_a_misnamed_variable_is_caught() -> None:
    assert "ci_plan_role" not in _outputs("aws")
    assert "ci_plan_role_arn" in _outputs("aws")


def _backend_steps() -> list[tuple[str, dict[str, str]]]:
    steps = []
    for name in ("ci.yaml", "apply.yaml"):
        for job in _load(name)["jobs"].values():
            for step in job["steps"]:
                if step.get("uses") == "./.github/actions/terraform-backend":
                    steps.append((step["with"]["cloud"], step["env"]))
    return steps


def test_the_backend_steps_pass_what_bootstrap_outputs_needs() -> None:
    module = _bootstrap_outputs_module()
    steps = _backend_steps()
    assert len(steps) == 4  # three plan jobs and the apply job
    for cloud, env in steps:
        clouds = CLOUDS if cloud.startswith("${{") else (cloud,)
        for each in clouds:
            # the variables of this cloud (apply passes every cloud's, chosen by inputs.cloud)
            mine = {k: v for k, v in env.items() if f"vars.{each.upper()}_" in v}
            names = {key.removeprefix("BOOTSTRAP_").lower() for key in mine}
            for key, value in mine.items():  # BOOTSTRAP_<OUTPUT> carries vars.<CLOUD>_<OUTPUT>
                assert f"vars.{each.upper()}_{key.removeprefix('BOOTSTRAP_')}" in value, key
            outputs = {n: {"value": {"bucket": "b", "resource_group_name": "r",
                                     "storage_account_name": "s", "apply": "a"}}
                       for n in names}  # fmt: skip
            assert names <= set(_outputs(each))
            assert "backend_config" in names
            module.root_variables(each, outputs)  # SystemExit when an output is missing


def test_bootstrap_env_rebuilds_terraform_output_json(tmp_path: Path) -> None:
    script = GITHUB / "actions" / "terraform-backend" / "bootstrap_env.py"
    env = {
        "BOOTSTRAP_BACKEND_CONFIG": '{"bucket": "state", "region": "eu-west-1"}',
        "BOOTSTRAP_CI_APPLY_ROLE_ARN": "arn:aws:iam::123456789012:role/mlplatform-ci-apply",
        "BOOTSTRAP_EMPTY": "",
    }
    result = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, check=True
    )
    outputs = json.loads(result.stdout)
    assert outputs == {
        "backend_config": {"value": {"bucket": "state", "region": "eu-west-1"}},
        "ci_apply_role_arn": {"value": "arn:aws:iam::123456789012:role/mlplatform-ci-apply"},
    }
    module = _bootstrap_outputs_module()
    assert module.root_variables("aws", outputs)["cluster"] == {
        "cluster_admin_role_arns": ["arn:aws:iam::123456789012:role/mlplatform-ci-apply"]
    }
    assert 'bucket = "state"' in module.backend_hcl(outputs["backend_config"]["value"])


def test_bootstrap_env_refuses_when_no_variable_is_set() -> None:
    script = GITHUB / "actions" / "terraform-backend" / "bootstrap_env.py"
    result = subprocess.run([sys.executable, str(script)], env={}, capture_output=True, text=True)
    assert result.returncode == 1
    assert "repository variables" in result.stderr
