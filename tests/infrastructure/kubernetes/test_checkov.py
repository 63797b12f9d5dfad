"""checkov over the built kustomize overlays, from its own virtualenv (.venv-checkov).

GIVEN every overlay built with `kubectl kustomize` WHEN checkov scans the rendered objects
offline with infrastructure/kubernetes/.checkov.yaml THEN no check fails, nothing fails to
parse, and every skip (global list or `checkov.io/skip<N>` annotation) carries a reason.
The scan runs once per session. Without .venv-checkov these tests fail with the command that
creates it: an unscanned overlay must not look green."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from .._checkov import require_checkov, run_checkov
from ._manifests import KUSTOMIZE, OVERLAYS, built, script

CONFIG = KUSTOMIZE / ".checkov.yaml"
SKIP_ANNOTATION = re.compile(r"checkov\.io/skip\d+")


@pytest.fixture(scope="session")
def manifests_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    require_checkov()
    folder = tmp_path_factory.mktemp("overlays")
    kubectl = script().kubectl_binary()
    for cloud in OVERLAYS:
        (folder / cloud).mkdir()
        docs = script().build(f"overlays/{cloud}", kubectl)
        (folder / cloud / "manifests.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return run_checkov(["--config-file", str(CONFIG), "-d", str(folder)], folder, "kubernetes")


def _overlay(check: dict) -> str:
    return Path(check["file_path"]).parts[1]


def _by_overlay(report: dict, key: str) -> Counter[str]:
    return Counter(_overlay(c) for c in report["results"].get(key, []))


def test_checkov_finds_no_failed_check(manifests_report: dict) -> None:
    failed = manifests_report["results"].get("failed_checks", [])
    details = [f"{c['check_id']} {c['file_path']} {c['resource']}: {c['check_name']}"
               for c in failed]  # fmt: skip
    assert not failed, (
        f"{len(failed)} failed checks by overlay "
        + str(dict(_by_overlay(manifests_report, "failed_checks")))
        + ":\n"
        + "\n".join(details)
    )


def test_checkov_scans_every_overlay(manifests_report: dict) -> None:
    assert manifests_report["summary"]["parsing_errors"] == 0
    passed = _by_overlay(manifests_report, "passed_checks")
    assert set(passed) == set(OVERLAYS), passed
    assert min(passed.values()) > 100, f"the scan covered too little: {passed}"
    # every built object (checkov adds the Pod template of each Deployment on top)
    resources = manifests_report["summary"]["resource_count"]
    assert resources >= sum(len(built(f"overlays/{c}")) for c in OVERLAYS)


def test_every_skip_checkov_applied_has_a_reason(manifests_report: dict) -> None:
    for check in manifests_report["results"].get("skipped_checks", []):
        reason = (check["check_result"].get("suppress_comment") or "").strip()
        assert len(reason) >= 30, f"{check['check_id']} {check['resource']}: {reason!r}"


def _skip_list() -> list[tuple[str, str]]:
    """(check id, reason) per entry of the skip-check list, reasons from its comments."""
    entries = []
    for line in CONFIG.read_text().splitlines():
        match = re.match(r"\s*-\s*(CKV2?_[A-Z0-9]+_\d+)\s*(?:#\s*(.*))?$", line)
        if match:
            entries.append((match[1], (match[2] or "").strip()))
    return entries


def test_every_skipped_check_has_a_reason() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    listed = _skip_list()
    assert [check for check, _ in listed] == (config.get("skip-check") or [])
    short = [check for check, reason in listed if len(reason) < 30]
    assert not short, f"skips without a real reason: {short}"


def test_the_scan_is_offline_and_kubernetes_only() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    assert config["framework"] == ["kubernetes"]
    assert config["skip-download"] is True
    assert "directory" not in config, "the test passes the built overlays with -d"


@pytest.mark.parametrize("cloud", OVERLAYS)
def test_every_skip_annotation_names_a_check_and_a_reason(cloud: str) -> None:
    for doc in built(f"overlays/{cloud}"):
        for key, value in (doc["metadata"].get("annotations") or {}).items():
            if SKIP_ANNOTATION.fullmatch(key):
                check, _, reason = value.partition("=")
                assert re.fullmatch(r"CKV2?_K8S_\d+", check), f"{script().ident(doc)} {key}"
                assert len(reason.strip()) >= 30, f"{script().ident(doc)} {key}: {value!r}"
