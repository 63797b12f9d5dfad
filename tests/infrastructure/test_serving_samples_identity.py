"""The model servers' identity may write request samples, and only request samples.

GIVEN each cloud's grants to the predictors' service account (``kserve-storage``: IRSA on EKS,
a federated managed identity on AKS, Workload Identity Federation on GKE) WHEN they are read
THEN it may create, overwrite and delete objects under the prefix the model server writes
samples to (``mlplatform.serving.sampler.SAMPLES_PREFIX``), and under no other prefix: every
write or delete it holds is confined to that prefix, everything else stays read-only.
"""

from __future__ import annotations

import re
from typing import Any

from mlplatform.serving.sampler import SAMPLES_PREFIX

from ._tree import first, module

EKS, AKS, GKE = module("modules/eks"), module("modules/aks"), module("modules/gke")
PREFIX = f"{SAMPLES_PREFIX}/"
S3_WRITES = {"s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:*", "*"}
BLOB = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
BLOB_WRITES = {f"{BLOB}/write", f"{BLOB}/add/action", f"{BLOB}/delete"}


def _locals(mod: Any) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for _, block in mod.blocks("locals"):
        merged.update(block)
    return merged


# --- EKS: an IAM statement on the prefix ---------------------------------------------------
def _kserve_statements() -> dict[str, dict[str, Any]]:
    role = _locals(EKS)["irsa_roles"]["kserve"]
    assert role["service_accounts"] == ["${var.serving_namespace}:kserve-storage"]
    return dict(role["permissions"])


def test_aws_kserve_storage_writes_and_deletes_under_the_samples_prefix() -> None:
    on_prefix = [
        s
        for s in _kserve_statements().values()
        if s["resources"] == [f"${{local.bucket_arn}}/{PREFIX}*"]
    ]
    assert len(on_prefix) == 1
    assert {"s3:PutObject", "s3:DeleteObject", "s3:GetObject"} <= set(on_prefix[0]["actions"])


def test_aws_kserve_storage_writes_nowhere_else() -> None:
    for sid, statement in _kserve_statements().items():
        if set(statement["actions"]) & S3_WRITES:
            assert statement["resources"] == [f"${{local.bucket_arn}}/{PREFIX}*"], sid


def test_aws_kserve_storage_may_encrypt_what_it_writes() -> None:
    """The bucket is SSE-KMS with the platform key: PutObject needs kms:GenerateDataKey."""
    keys = [s for s in _kserve_statements().values() if "${aws_kms_key.this.arn}" in s["resources"]]
    assert keys
    assert {"kms:Decrypt", "kms:GenerateDataKey"} <= {a for s in keys for a in s["actions"]}


# --- GKE: a conditional binding on the object names ----------------------------------------
KSA = "${local.principal_prefix}/ns/${var.serving_namespace}/sa/kserve-storage"


def _kserve_bindings() -> list[dict[str, Any]]:
    found = [
        body
        for (rtype, _), body in GKE.resources().items()
        if rtype == "google_storage_bucket_iam_member" and body.get("member") == KSA
    ]
    grants = _locals(GKE)["bucket_grants"]
    found += [{"role": role} for key, role in grants.items() if key.endswith("/kserve-storage")]
    return found


def test_gcp_kserve_storage_creates_and_deletes_only_under_the_samples_prefix() -> None:
    writers = [b for b in _kserve_bindings() if b["role"] != "roles/storage.objectViewer"]
    assert [b["role"] for b in writers] == ["roles/storage.objectUser"]
    condition = first(writers[0]["condition"])
    pattern = rf'^resource\.name\.startsWith\("projects/_/buckets/[^"/]+/objects/{PREFIX}"\)$'
    assert re.match(pattern, condition["expression"]), condition["expression"]
    assert writers[0]["bucket"] == "${google_storage_bucket.artifacts.name}"


def test_gcp_kserve_storage_reads_the_bucket_unconditionally() -> None:
    readers = [b for b in _kserve_bindings() if "condition" not in b]
    assert [b["role"] for b in readers] == ["roles/storage.objectViewer"]


# --- AKS: a data-only custom role, assigned on the container under a path condition ---------
def _aks(rtype: str, name: str) -> dict[str, Any]:
    return dict(AKS.resources()[(rtype, name)])


def test_azure_samples_role_has_blob_writes_only() -> None:
    role = _aks("azurerm_role_definition", "serving_samples")
    permissions = first(role["permissions"])
    assert set(permissions) - {"__is_block__"} == {"data_actions"}, "no control-plane actions"
    assert permissions["data_actions"] == "${local.serving_samples_actions}"
    assert set(_locals(AKS)["serving_samples_actions"]) == BLOB_WRITES


def test_azure_samples_role_is_assigned_to_kserve_on_the_container_under_a_path_condition() -> None:
    assignment = _aks("azurerm_role_assignment", "serving_samples")
    assert assignment["principal_id"] == (
        '${azurerm_user_assigned_identity.workload["kserve"].principal_id}'
    )
    assert assignment["scope"].endswith(
        "/blobServices/default/containers/${azurerm_storage_container.artifacts.name}"
    )
    assert assignment["role_definition_id"] == (
        "${azurerm_role_definition.serving_samples.role_definition_resource_id}"
    )
    assert assignment["condition_version"] == "2.0"
    condition = assignment["condition"]
    # every action of the role is guarded: outside the prefix, none of them is granted
    guarded = set(re.findall(r"!\(ActionMatches\{'([^']+)'\}\)", condition))
    assert guarded == BLOB_WRITES
    assert f"{BLOB}:path] StringStartsWith '{PREFIX}'" in condition
    assert re.search(r"\)\s*OR\s*\(", condition)


def test_azure_kserve_storage_reads_everything_and_writes_nothing_else() -> None:
    kserve = _locals(AKS)["workload_identities"]["kserve"]
    assert kserve["service_accounts"] == ["${var.serving_namespace}:kserve-storage"]
    assert {r["role"] for r in kserve["roles"].values()} == {"Storage Blob Data Reader"}
    others = [
        body
        for (rtype, name), body in AKS.resources().items()
        if rtype == "azurerm_role_assignment" and name != "workload" and "kserve" in str(body)
    ]
    assert [a["role_definition_id"] for a in others] == [
        "${azurerm_role_definition.serving_samples.role_definition_resource_id}"
    ]
