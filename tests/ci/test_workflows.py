"""The workflow files pass actionlint, zizmor and the GitHub workflow JSON schema, offline.

Each check is also fed a deliberately broken file, to prove it can fail.
"""

from __future__ import annotations

import re
from pathlib import Path

from ._checks import ACTIONS, GITHUB, WORKFLOWS, ZIZMOR_CONFIG, actionlint, workflow_schema, zizmor

BROKEN_WORKFLOW = """\
name: broken
on: pull_request_target
jobs:
  plan:
    runs-on: ubuntu-24.04
    needs: [no-such-job]
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: echo "${{ github.event.pull_request.title }}" && cd $UNQUOTED
"""


def _broken(tmp_path: Path) -> Path:
    path = tmp_path / ".github" / "workflows" / "broken.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(BROKEN_WORKFLOW)
    return path


def test_the_repository_has_both_workflows_and_its_composite_actions() -> None:
    assert [path.name for path in WORKFLOWS] == ["apply.yaml", "ci.yaml"]
    assert {path.parent.name for path in ACTIONS} == {"setup-python", "terraform-backend"}


def test_actionlint_finds_nothing_in_the_workflows() -> None:
    assert actionlint(*WORKFLOWS) == []


def test_actionlint_flags_a_broken_workflow(tmp_path: Path) -> None:
    findings = "\n".join(actionlint(_broken(tmp_path)))
    assert "no-such-job" in findings  # the job graph
    assert "potentially untrusted" in findings  # script injection from the PR title
    assert "SC2086" in findings  # shellcheck on the run: script


def test_zizmor_finds_nothing_in_workflows_and_actions() -> None:
    assert zizmor(GITHUB) == []


def test_zizmor_flags_a_broken_workflow(tmp_path: Path) -> None:
    findings = "\n".join(zizmor(_broken(tmp_path)))
    for rule in ("dangerous-triggers", "template-injection", "unpinned-uses", "artipacked"):
        assert rule in findings


def test_every_zizmor_ignore_and_disabled_rule_gives_a_reason() -> None:
    for path in [*WORKFLOWS, *ACTIONS]:
        for line in path.read_text().splitlines():
            match = re.search(r"# zizmor: ignore\[[a-z-]+\](.*)$", line)
            if match:
                assert len(match.group(1).split()) >= 4, f"{path.name}: no reason in {line!r}"
    config = ZIZMOR_CONFIG.read_text()
    for block in re.findall(r"^  [a-z-]+:\n((?:    .*\n)+)", config, flags=re.MULTILINE):
        assert "disable: true" not in block or "#" in block, (
            f"a disabled rule without a reason: {block}"
        )


def test_the_workflows_match_githubs_workflow_schema() -> None:
    assert workflow_schema(*WORKFLOWS) == []


def test_the_composite_actions_match_githubs_action_schema() -> None:
    assert workflow_schema(*ACTIONS, schema="vendor.github-actions") == []


def test_the_schema_rejects_a_job_without_a_runner(tmp_path: Path) -> None:
    path = tmp_path / "no-runner.yaml"
    path.write_text("on: push\njobs:\n  build:\n    steps:\n      - run: make\n    runs_on: x\n")
    assert workflow_schema(path) != []
