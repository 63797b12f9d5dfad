"""Remote state and CI identity (bootstrap/*) and the cluster/platform split (ADR 0008).

GIVEN the bootstrap and environment roots WHEN their backends, state stores and CI trust are
read THEN state is versioned, encrypted and locked, CI assumes short-lived identities of
exactly one repository with read-only plan and scoped apply rights, no static credential
exists anywhere, and the cluster and the platform live in separate states."""

from __future__ import annotations

import json
import re

import pytest

from ._tree import CLOUDS, INFRA, REPO, TERRAFORM, first, module, modules

AWS, AZURE, GCP = module("bootstrap/aws"), module("bootstrap/azure"), module("bootstrap/gcp")
ENVIRONMENTS = ("dev", "staging", "prod")


def _backend(root: str) -> tuple[str, dict]:
    for block in module(root).terraform_blocks():
        for backend in block.get("backend", []):
            ((kind, settings),) = ((k, v) for k, v in backend.items() if k != "__is_block__")
            return kind, settings
    raise AssertionError(f"{root} has no backend block")


# --- state ----------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("cloud", CLOUDS)
def test_cluster_and_platform_keep_separate_locked_encrypted_state(cloud: str, env: str) -> None:
    cluster = _backend(f"environments/{cloud}/{env}/cluster")
    platform = _backend(f"environments/{cloud}/{env}/platform")
    assert cluster[0] == platform[0] == {"aws": "s3", "azure": "azurerm", "gcp": "gcs"}[cloud]
    location = {"s3": "key", "azurerm": "key", "gcs": "prefix"}[cluster[0]]
    assert cluster[1][location] != platform[1][location]
    if cluster[0] == "s3":
        for _, settings in (cluster, platform):
            assert settings["encrypt"] is True
            assert settings["use_lockfile"] is True
    if cluster[0] == "azurerm":
        for _, settings in (cluster, platform):
            assert settings["use_azuread_auth"] is True


@pytest.mark.parametrize("cloud", CLOUDS)
def test_no_two_environments_or_roots_share_a_state(cloud: str) -> None:
    locations = [
        _backend(f"environments/{cloud}/{env}/{root}")[1]
        for env in ENVIRONMENTS
        for root in ("cluster", "platform")
    ]
    keys = [settings.get("key", settings.get("prefix")) for settings in locations]
    assert len(set(keys)) == len(keys), keys


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_platform_root_reads_the_cluster_from_remote_state_and_creates_no_cloud_resources(
    cloud: str, env: str
) -> None:
    platform = module(f"environments/{cloud}/{env}/platform")
    assert ("terraform_remote_state", "cluster") in platform.resources("data")
    assert not list(platform.resources()), "the platform root only calls modules/platform"
    assert set(platform.module_calls()) == {"platform"}
    cluster_key = _backend(f"environments/{cloud}/{env}/cluster")[1]
    remote = platform.resources("data")[("terraform_remote_state", "cluster")]["config"]
    assert cluster_key.get("key", cluster_key.get("prefix")) in (
        remote.get("key"),
        remote.get("prefix"),
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_cluster_root_has_no_kubernetes_provider_configured(cloud: str, env: str) -> None:
    """One apply that creates a cluster and talks to it is the known failure ADR 0008 avoids."""
    providers = {
        name
        for _, block in module(f"environments/{cloud}/{env}/cluster").blocks("provider")
        for name in block
    }
    assert not providers & {"helm", "kubernetes"}


def test_aws_state_bucket_is_versioned_kms_encrypted_private_and_tls_only() -> None:
    resources = AWS.resources()
    assert (
        first(resources[("aws_s3_bucket_versioning", "state")]["versioning_configuration"])[
            "status"
        ]
        == "Enabled"
    )
    rule = first(resources[("aws_s3_bucket_server_side_encryption_configuration", "state")]["rule"])
    assert first(rule["apply_server_side_encryption_by_default"])["sse_algorithm"] == "aws:kms"
    block = resources[("aws_s3_bucket_public_access_block", "state")]
    assert all(
        block[flag] is True
        for flag in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        )
    )
    policy = AWS.resources("data")[("aws_iam_policy_document", "state_bucket")]
    assert any(
        s["sid"] == "DenyInsecureTransport" and s["effect"] == "Deny" for s in policy["statement"]
    )


def test_azure_state_account_is_versioned_soft_deleted_and_entra_only() -> None:
    account = AZURE.resources()[("azurerm_storage_account", "state")]
    blob = first(account["blob_properties"])
    assert blob["versioning_enabled"] is True
    assert "delete_retention_policy" in blob
    assert account["shared_access_key_enabled"] is False
    assert account["infrastructure_encryption_enabled"] is True
    assert account["min_tls_version"] == "TLS1_2"


def test_gcp_state_bucket_is_versioned_cmek_encrypted_and_private() -> None:
    bucket = GCP.resources()[("google_storage_bucket", "state")]
    assert first(bucket["versioning"])["enabled"] is True
    assert "google_kms_crypto_key.state" in first(bucket["encryption"])["default_kms_key_name"]
    assert bucket["public_access_prevention"] == "enforced"
    assert bucket["uniform_bucket_level_access"] is True


# --- CI identity ----------------------------------------------------------------------------


def _conditions(document: dict) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for statement in document["statement"]:
        for condition in statement.get("condition", []):
            found[condition["variable"].split(":")[-1]] = condition["values"]
    return found


def test_aws_ci_roles_trust_only_this_repository_through_oidc() -> None:
    data = AWS.resources("data")
    plan = _conditions(data[("aws_iam_policy_document", "plan_trust")])
    apply = _conditions(data[("aws_iam_policy_document", "apply_trust")])
    for conditions in (plan, apply):
        assert conditions["aud"] == ["sts.amazonaws.com"]
        assert all(sub.startswith("repo:${var.github_repository}:") for sub in conditions["sub"])
    assert apply["sub"] == ["repo:${var.github_repository}:environment:${var.github_environment}"]
    validation = AWS.variables()["github_repository"]["validation"][0]["condition"]
    assert "[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+" in validation, "wildcard repositories must be rejected"


def test_aws_plan_is_read_only_and_apply_is_scoped() -> None:
    resources = AWS.resources()
    assert resources[("aws_iam_role_policy_attachment", "plan_read_only")]["policy_arn"].endswith(
        ":iam::aws:policy/ReadOnlyAccess"
    )
    attached = [
        body["policy_arn"]
        for (rtype, _), body in resources.items()
        if rtype == "aws_iam_role_policy_attachment"
    ]
    assert not any("AdministratorAccess" in arn or "PowerUserAccess" in arn for arn in attached)
    apply = AWS.resources("data")[("aws_iam_policy_document", "apply_infrastructure")]
    for statement in apply["statement"]:
        resources_ = statement["resources"]
        if resources_ == ["*"]:
            assert statement.get("condition"), f"{statement['sid']}: '*' needs a region condition"
            assert all(not action.endswith(":*") for action in statement["actions"]), statement[
                "sid"
            ]
    iam = next(s for s in apply["statement"] if s["sid"] == "PlatformRolesAndPolicies")
    assert all(
        "${var.name}-" in arn
        for arn in str(iam["resources"]).split(",")
        if "role/" in arn or "policy/" in arn
    )


def test_azure_ci_identities_are_federated_for_this_repository_only() -> None:
    subjects = AZURE.text()
    subject = re.compile(
        r'subject = "repo:\$\{var\.github_repository\}:'
        r'(pull_request|ref:refs/heads/main|environment:\$\{var\.github_environment\})"'
    )
    assert subject.findall(subjects) == [
        "pull_request",
        "ref:refs/heads/main",
        "environment:${var.github_environment}",
    ]
    credential = AZURE.resources()[("azurerm_federated_identity_credential", "github")]
    assert credential["issuer"] == "${local.oidc_issuer}"
    resources = AZURE.resources()
    assert resources[("azurerm_role_assignment", "plan_reader")]["role_definition_name"] == "Reader"
    assert (
        resources[("azurerm_role_assignment", "apply_contributor")]["scope"]
        == "${azurerm_resource_group.platform.id}"
    )
    delegated = resources[("azurerm_role_assignment", "apply_role_assignments")]
    assert delegated["condition_version"] == "2.0"
    assert "GuidEquals" in delegated["condition"]
    assert not any(body.get("role_definition_name") == "Owner" for body in resources.values())


def test_gcp_ci_service_accounts_are_reached_by_federation_of_this_repository() -> None:
    provider = GCP.resources()[("google_iam_workload_identity_pool_provider", "github")]
    assert provider["attribute_condition"] == "${local.attribute_condition}"
    text = GCP.text()
    assert "assertion.repository == '${var.github_repository}'" in text
    assert "assertion.sub == '${subject}'" in text
    apply = GCP.resources()[("google_service_account_iam_member", "apply_federation")]
    assert "/subject/${local.subjects.apply}" in apply["member"]
    roles = re.findall(r'"(roles/[a-zA-Z.]+)"', text)
    assert not {
        "roles/owner",
        "roles/editor",
        "roles/viewer",
        "roles/iam.serviceAccountAdmin",
        "roles/resourcemanager.projectIamAdmin",
    } & set(roles)


# --- no static credentials ----------------------------------------------------------------

FORBIDDEN = {
    "AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "Azure storage key": re.compile(r"AccountKey=[A-Za-z0-9+/=]{20,}"),
    "SAS token": re.compile(r"[?&]sig=[A-Za-z0-9%]{20,}"),
    "GCP key file": re.compile(r'"type":\s*"service_account"'),
    "literal secret attribute": re.compile(
        r'(?m)^\s*(password|secret|client_secret|access_key|secret_key|token|api_key)\s*=\s*"(?!\$\{)[^"]+"'
    ),
    "literal secret value": re.compile(
        r"(?im)^\s*(password|secret|accessKey|secretKey|adminPassword)\s*:\s*['\"]?(?!\{\{)[A-Za-z0-9+/!@#$%^&*]{6,}"
    ),
}
CREDENTIAL_RESOURCES = {
    "aws_iam_access_key",
    "aws_iam_user_login_profile",
    "google_service_account_key",
    "azuread_application_password",
    "azuread_service_principal_password",
    "azurerm_storage_account_sas",
}


# Vendored upstream JSON schemas and their sample documents (tests/schemas checks them): their
# descriptions quote PEM headers and their samples reference Secrets by name, none of it ours.
VENDORED = INFRA / "schemas"


def _scanned_files() -> list:
    roots = [INFRA, REPO / "docs" / "infrastructure.md", REPO / ".checkov.yaml"]
    files = []
    for root in roots:
        if root.is_file():
            files.append(root)
        elif root.is_dir():
            files += [
                p
                for p in root.rglob("*")
                if p.is_file()
                and ".terraform" not in p.parts
                and p.suffix != ".pyc"
                and not p.is_relative_to(VENDORED)
            ]
    return files


def test_no_static_credentials_anywhere() -> None:
    hits = []
    for path in _scanned_files():
        text = path.read_text(errors="ignore")
        hits += [
            f"{path.relative_to(REPO)}: {what}"
            for what, pattern in FORBIDDEN.items()
            if pattern.search(text)
        ]
    assert not hits, hits


def test_no_resource_mints_long_lived_credentials() -> None:
    for mod in modules():
        minted = {rtype for rtype, _ in mod.resources()} & CREDENTIAL_RESOURCES
        assert not minted, f"{mod.name}: {minted}"


def test_providers_take_no_credentials_from_configuration() -> None:
    keys = {
        "access_key",
        "secret_key",
        "client_secret",
        "client_certificate_password",
        "credentials",
        "token",
    }
    for mod in modules():
        for path, block in mod.blocks("provider"):
            for name, body in block.items():
                assert not keys & set(first(body)), f"{path}: provider {name}"


def _bootstrap_script():
    from importlib import util

    spec = util.spec_from_file_location(
        "bootstrap_outputs", TERRAFORM / "scripts" / "bootstrap_outputs.py"
    )
    script = util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def _fake_output(name: str, body: dict) -> object:
    """A plausible `terraform output -json` value for one bootstrap output declaration."""
    value = first(body.get("value"))
    if isinstance(value, dict):  # object outputs: keep the keys, fake the values
        return {
            key: (item if isinstance(item, bool) else f"{name}-{key}")
            for key, item in value.items()
        }
    if isinstance(value, str) and re.match(r"\$\{\{\s*for ", value):  # map over the CI identities
        return {role: f"{name}-{role}" for role in ("plan", "apply")}
    return f"{name}-value"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_bootstrap_outputs_script_feeds_declared_outputs_into_declared_variables(
    cloud, tmp_path, monkeypatch
) -> None:
    """`make tf-bootstrap-<cloud>` pipes the bootstrap outputs through this script: every output it
    reads must exist in bootstrap/<cloud>, every variable it writes must exist in the target root,
    and backend.hcl must carry the keys the roots' backend needs."""
    script = _bootstrap_script()
    for root in ("cluster", "platform"):
        (tmp_path / cloud / "dev" / root).mkdir(parents=True)
    monkeypatch.setattr(script, "ENVIRONMENTS", tmp_path)
    declared = module(f"bootstrap/{cloud}").outputs()
    outputs = {name: {"value": _fake_output(name, body)} for name, body in declared.items()}

    written = script.write(cloud, "dev", outputs)

    assert len(written) == 3
    backend = (tmp_path / cloud / "dev" / "backend.hcl").read_text()
    required = {
        "aws": {"bucket", "region", "encrypt", "use_lockfile"},
        "azure": {
            "resource_group_name",
            "storage_account_name",
            "container_name",
            "use_azuread_auth",
        },
        "gcp": {"bucket"},
    }[cloud]
    keys = {line.split(" = ", 1)[0] for line in backend.splitlines()}
    assert required <= keys, f"backend.hcl for {cloud} lacks {required - keys}"
    for root in ("cluster", "platform"):
        written_vars = json.loads(
            (tmp_path / cloud / "dev" / root / "bootstrap.auto.tfvars.json").read_text()
        )
        declared_vars = module(f"environments/{cloud}/dev/{root}").variables()
        assert written_vars, f"{cloud}/{root}: nothing written"
        assert set(written_vars) <= set(declared_vars), (
            f"{cloud}/{root}: {set(written_vars) - set(declared_vars)}"
        )


def test_bootstrap_outputs_script_names_the_missing_output(tmp_path, monkeypatch) -> None:
    script = _bootstrap_script()
    (tmp_path / "aws" / "dev").mkdir(parents=True)
    monkeypatch.setattr(script, "ENVIRONMENTS", tmp_path)
    with pytest.raises(SystemExit, match="backend_config"):
        script.write("aws", "dev", {})


# --- EKS access entries ------------------------------------------------------------------


def test_eks_never_creates_two_access_entries_for_the_applying_role() -> None:
    """The fault: creator admin access was always on while cluster_admin_role_arns suggested
    the CI apply role, usually the creator: two access entries for one principal and a failed
    apply. The creator's own entry is on only when no admin roles are given."""
    eks_module = module("modules/eks")
    call = eks_module.module_calls()["eks"]
    creator = call["enable_cluster_creator_admin_permissions"]
    assert creator is not True, "creator access is unconditional"
    assert re.fullmatch(r"\$\{length\(var\.cluster_admin_role_arns\) == 0\}", str(creator)), creator
    assert "var.cluster_admin_role_arns" in str(call["access_entries"])


def test_eks_admin_roles_are_validated() -> None:
    variable = module("modules/eks").variables()["cluster_admin_role_arns"]
    conditions = " ".join(str(rule["condition"]) for rule in variable["validation"])
    assert "distinct(var.cluster_admin_role_arns)" in conditions
    assert ":role/" in conditions, "assumed-role (sts) ARNs must be refused"
    description = module("environments/aws/dev/cluster").variables()["cluster_admin_role_arns"]
    assert "list the role that applies" in description["description"]
