"""Deleted request samples do not outlive their retention in the artifact stores' versions.

The model server deletes a day of request samples (personal data) once it is older than its
retention (``mlplatform.retention``), but the artifact buckets are versioned: a delete only
hides the object, whose data stays as a noncurrent version (S3, GCS) or a previous version
(Azure) for as long as the bucket's lifecycle keeps it, 90 days for everything else.

GIVEN each cloud's artifact store WHEN its lifecycle rules are evaluated the way the store
evaluates them, for an object under the prefix the model server writes to
(``mlplatform.serving.sampler.SAMPLES_PREFIX``) and for one outside it, THEN the sample's old
versions are removed within 1 day, the rest of the bucket keeps its 90 days, and the docs
state what no lifecycle rule can shorten (soft delete).

The evaluators model only what these rules use:
- S3: enabled rules whose ``filter.prefix`` starts the key (no filter: every key); where
  rules overlap S3 honours the shortest expiration. Tags and size filters are not modelled.
- GCS: a ``Delete`` rule applies when every condition of it matches; for a deleted object
  (no newer version) the conditions modelled are ``matches_prefix``, ``with_state`` and
  ``days_since_noncurrent_time``; a rule with any other condition is treated as not matching.
- Azure: enabled rules whose ``filters.prefix_match`` (``container/path``) starts the blob's
  path and whose ``blob_types`` hold ``blockBlob`` (what adlfs writes).
"""

from __future__ import annotations

import re
from typing import Any

from mlplatform.serving.sampler import SAMPLES_PREFIX

from ._tree import REPO, first, module

EKS, AKS, GKE = module("modules/eks"), module("modules/aks"), module("modules/gke")
SAMPLE = f"{SAMPLES_PREFIX}/churn/2025-01-31/000001.jsonl"
OTHER = "mlflow/1/0123456789abcdef/artifacts/model/model.pkl"
DOCS = REPO / "docs" / "serving-kubernetes.md"


# --- S3: the s3-bucket module's lifecycle_rule input (v5.14.1 keys) ------------------------
def _s3_rules() -> list[dict[str, Any]]:
    return list(EKS.module_calls()["artifacts"]["lifecycle_rule"])


def _s3_applies(rule: dict[str, Any], key: str) -> bool:
    prefix = rule.get("filter", {}).get("prefix", "")
    return bool(rule.get("enabled")) and key.startswith(prefix)


def _s3_noncurrent_days(key: str) -> int | None:
    days = [
        rule["noncurrent_version_expiration"]["noncurrent_days"]
        for rule in _s3_rules()
        if _s3_applies(rule, key) and "noncurrent_version_expiration" in rule
    ]
    return min(days, default=None)


def test_aws_noncurrent_samples_expire_within_a_day() -> None:
    assert _s3_noncurrent_days(SAMPLE) == 1


def test_aws_expired_delete_markers_of_samples_are_removed() -> None:
    """Once its versions are gone, a sample's delete marker would list forever."""
    expirations = [r.get("expiration", {}) for r in _s3_rules() if _s3_applies(r, SAMPLE)]
    cleaners = [e for e in expirations if e.get("expired_object_delete_marker")]
    assert cleaners
    # S3 rejects expired_object_delete_marker beside days or date in one expiration
    assert all(set(expiration) == {"expired_object_delete_marker"} for expiration in cleaners)


def test_aws_the_rest_of_the_bucket_keeps_its_rules() -> None:
    assert _s3_noncurrent_days(OTHER) == 90
    assert any(r.get("abort_incomplete_multipart_upload_days") == 7 for r in _s3_rules())
    ids = [rule["id"] for rule in _s3_rules()]
    assert len(ids) == len(set(ids))


# --- GCS: google_storage_bucket lifecycle_rule blocks ---------------------------------------
MODELLED = {"matches_prefix", "with_state", "days_since_noncurrent_time", "__is_block__"}


def _gcs_rules() -> list[dict[str, Any]]:
    bucket = GKE.resources()[("google_storage_bucket", "artifacts")]
    return list(bucket["lifecycle_rule"])


def _gcs_deletes_noncurrent_after(rule: dict[str, Any], name: str) -> int | None:
    """Days after a deleted object's version became noncurrent that this rule deletes it."""
    condition, action = first(rule["condition"]), first(rule["action"])
    if action["type"] != "Delete" or set(condition) - MODELLED:
        return None
    prefixes = condition.get("matches_prefix", [""])
    if not any(name.startswith(p) for p in prefixes):
        return None
    if condition.get("with_state", "ANY") not in ("ARCHIVED", "ANY"):
        return None
    return int(condition.get("days_since_noncurrent_time", 0))


def _gcs_noncurrent_days(name: str) -> int | None:
    days = [_gcs_deletes_noncurrent_after(rule, name) for rule in _gcs_rules()]
    return min((d for d in days if d is not None), default=None)


def test_gcp_noncurrent_samples_are_deleted_within_a_day() -> None:
    assert _gcs_noncurrent_days(SAMPLE) == 1


def test_gcp_the_rest_of_the_bucket_keeps_its_rules() -> None:
    assert _gcs_noncurrent_days(OTHER) == 90


# --- Azure: azurerm_storage_management_policy on the artifact account -----------------------
def _azure_rules(path: str) -> list[dict[str, Any]]:
    """Enabled rules that match blob ``path`` (``container/name``)."""
    policies = [
        body
        for (rtype, _), body in AKS.resources().items()
        if rtype == "azurerm_storage_management_policy"
        and body["storage_account_id"] == "${azurerm_storage_account.artifacts.id}"
    ]
    container = AKS.resources()[("azurerm_storage_container", "artifacts")]["name"]
    found = []
    for rule in (rule for policy in policies for rule in policy.get("rule", [])):
        filters = first(rule["filters"])
        prefixes = [
            p.replace("${azurerm_storage_container.artifacts.name}", container)
            for p in filters.get("prefix_match", [""])
        ]
        if rule["enabled"] and "blockBlob" in filters["blob_types"]:
            found += [rule] if any(path.startswith(p) for p in prefixes) else []
    return found


def _azure_days(path: str, action: str, argument: str) -> int | None:
    days = [
        first(first(rule["actions"])[action])[argument]
        for rule in _azure_rules(path)
        if action in first(rule["actions"])
    ]
    return min(days, default=None)


def test_azure_sample_versions_and_snapshots_are_deleted_within_a_day() -> None:
    path = f"artifacts/{SAMPLE}"
    assert _azure_days(path, "version", "delete_after_days_since_creation") == 1
    assert _azure_days(path, "snapshot", "delete_after_days_since_creation_greater_than") == 1


def test_azure_the_policy_deletes_nothing_outside_the_samples() -> None:
    assert _azure_rules(f"artifacts/{OTHER}") == []


# --- what no lifecycle rule shortens: soft delete, stated in the docs ------------------------
def _payload_sampling_section() -> str:
    text = DOCS.read_text()
    start = text.index("### Payload sampling")
    end = re.compile(r"^##? ", re.MULTILINE).search(text, start + 1)
    return text[start : end.start() if end else len(text)]


def test_docs_state_the_soft_delete_windows_that_remain() -> None:
    account = AKS.resources()[("azurerm_storage_account", "artifacts")]
    azure_days = first(first(account["blob_properties"])["delete_retention_policy"])["days"]
    bucket = GKE.resources()[("google_storage_bucket", "artifacts")]
    gcs_days = first(bucket["soft_delete_policy"])["retention_duration_seconds"] // 86400
    section = _payload_sampling_section()
    assert f"{azure_days} days" in section
    assert "delete_retention_policy" in section
    assert f"{gcs_days} days" in section
    assert "soft_delete_policy" in section
