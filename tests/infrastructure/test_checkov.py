"""checkov over infrastructure/terraform, from its own virtualenv (.venv-checkov).

GIVEN the Terraform tree and the committed skip list WHEN checkov scans it offline THEN no
check fails, nothing fails to parse, and every skipped check carries a written reason.
The scan runs once per session (about 20 s). Without .venv-checkov these tests fail with the
command that creates it: an unscanned tree must not look green."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from ._checkov import run_checkov
from ._tree import REPO, TERRAFORM, tf_files

CONFIG = REPO / ".checkov.yaml"
INLINE_SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")
CLOUD_OF = {
    "aws": ("bootstrap/aws", "modules/eks", "environments/aws"),
    "azure": ("bootstrap/azure", "modules/aks", "environments/azure"),
    "gcp": ("bootstrap/gcp", "modules/gke", "environments/gcp"),
}


@pytest.fixture(scope="session")
def checkov_report() -> dict:
    return run_checkov(["--config-file", str(CONFIG)], REPO, "terraform")


def _cloud(path: str) -> str:
    for cloud, prefixes in CLOUD_OF.items():
        if path.lstrip("/").startswith(prefixes):
            return cloud
    return "shared"


def test_checkov_finds_no_failed_check(checkov_report: dict) -> None:
    failed = checkov_report["results"].get("failed_checks", [])
    summary = Counter(_cloud(check["file_path"]) for check in failed)
    details = [
        f"{c['check_id']} {c['file_path']} {c['resource']}: {c['check_name']}" for c in failed
    ]
    assert not failed, f"{len(failed)} failed checks by cloud {dict(summary)}:\n" + "\n".join(
        details
    )


def test_checkov_parses_every_file(checkov_report: dict) -> None:
    assert checkov_report["summary"]["parsing_errors"] == 0
    assert checkov_report["summary"]["passed"] > 300, "the scan covered too little"


def test_checkov_scans_resources_of_every_cloud(checkov_report: dict) -> None:
    passed = checkov_report["results"].get("passed_checks", [])
    clouds = Counter(_cloud(check["file_path"]) for check in passed)
    assert {"aws", "azure", "gcp"} <= set(clouds), clouds


def _skip_list() -> list[tuple[str, str]]:
    """(check id, reason) per entry of .checkov.yaml skip-check, reasons from its comments."""
    entries = []
    for line in CONFIG.read_text().splitlines():
        match = re.match(r"\s*-\s*(CKV2?_[A-Z0-9]+_\d+)\s*(?:#\s*(.*))?$", line)
        if match:
            entries.append((match[1], (match[2] or "").strip()))
    return entries


def test_every_skipped_check_has_a_reason() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    listed = _skip_list()
    assert [check for check, _ in listed] == config["skip-check"]
    short = [check for check, reason in listed if len(reason) < 30]
    assert not short, f"skips without a real reason: {short}"


def test_every_inline_skip_has_a_reason() -> None:
    for path in tf_files():
        for match in INLINE_SKIP.finditer(path.read_text()):
            reason = (match[2] or "").strip()
            assert len(reason) >= 30, f"{path.relative_to(TERRAFORM)}: {match[0]}"


def test_the_scan_covers_the_terraform_tree_offline() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    assert config["directory"] == ["infrastructure/terraform"]
    assert config["download-external-modules"] is False
    assert Path(REPO / "requirements" / "checkov-lock.txt").read_text().count("checkov==") == 1
