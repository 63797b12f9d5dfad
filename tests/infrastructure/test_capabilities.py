"""What each cloud's cluster module must provide (issue 7): node pools with the design's
sizes and taints, flow logs, backups, encryption and workload identity.

GIVEN modules/eks, modules/aks and modules/gke WHEN their resources and module calls are read
THEN each implements every capability with the settings the platform relies on."""

from __future__ import annotations

import re

from ._tree import first, module

EKS, AKS, GKE = module("modules/eks"), module("modules/aks"), module("modules/gke")


def _locals(mod) -> dict:
    merged: dict = {}
    for _, block in mod.blocks("locals"):
        merged.update(block)
    return merged


# --- node pools ----------------------------------------------------------------------------


def test_eks_node_groups_match_the_design() -> None:
    groups = _locals(EKS)["node_groups"]
    defaults = {
        name: body["default"]
        for name, body in EKS.variables().items()
        if name.endswith("_node_group")
    }
    assert defaults["general_node_group"]["instance_types"] == ["t3.large"]
    assert groups["general"]["capacity_type"] == "ON_DEMAND"
    assert defaults["training_node_group"]["instance_types"] == ["c5.2xlarge"]
    assert defaults["gpu_node_group"]["instance_types"] == ["g4dn.xlarge"]
    for name, taint in {
        "training": {"key": "workload", "value": "training", "effect": "NO_SCHEDULE"},
        "gpu": {"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"},
    }.items():
        group = groups[name]
        assert group["capacity_type"] == "SPOT", name
        assert group["min_size"] == 0, f"{name} must scale from zero"
        assert group["desired_size"] == 0, f"{name} must scale from zero"
        assert list(group["taints"].values()) == [taint], name
    assert groups["gpu"]["ami_type"] == "AL2023_x86_64_NVIDIA"


def test_eks_vpc_spans_three_azs_with_one_nat_in_dev() -> None:
    vpc = EKS.module_calls()["vpc"]
    assert "slice(data.aws_availability_zones.available.names, 0, 3)" in EKS.text()
    assert {"private_subnets", "public_subnets"} <= set(vpc)
    assert vpc["single_nat_gateway"] == "${var.single_nat_gateway}"
    assert EKS.variables()["single_nat_gateway"]["default"] is True


def test_eks_has_karpenter_with_pod_identity() -> None:
    karpenter = EKS.module_calls()["karpenter"]
    assert karpenter["source"] == "terraform-aws-modules/eks/aws//modules/karpenter"
    assert karpenter["create_pod_identity_association"] is True
    addons = EKS.module_calls()["eks"]["addons"]
    assert "eks-pod-identity-agent" in addons


def test_aks_node_pools_match_the_design() -> None:
    cluster = AKS.resources()[("azurerm_kubernetes_cluster", "this")]
    system = first(cluster["default_node_pool"])
    defaults = AKS.variables()
    assert defaults["system_node_pool"]["default"] == {
        "vm_size": "Standard_D4s_v3",
        "min_count": 2,
        "max_count": 4,
    }
    assert system["auto_scaling_enabled"] is True
    assert system["only_critical_addons_enabled"] is True
    assert defaults["training_node_pool"]["default"]["vm_size"] == "Standard_D8s_v3"
    pool = AKS.resources()[("azurerm_kubernetes_cluster_node_pool", "this")]
    assert pool["priority"] == "Spot"
    assert pool["min_count"] == 0
    assert pool["auto_scaling_enabled"] is True
    pools = _locals(AKS)["user_node_pools"]
    assert "workload=training:NoSchedule" in pools["training"]["taints"]
    assert "nvidia.com/gpu=true:NoSchedule" in pools["gpu"]["taints"]


def test_aks_gpu_size_is_a_live_successor_of_the_retired_ncv3() -> None:
    gpu = AKS.variables()["gpu_node_pool"]
    assert gpu["default"]["vm_size"] == "Standard_NC4as_T4_v3"
    assert "Standard_NC6s_v3" in str(gpu["validation"]), "the retired size must be rejected"


def _gke_pools() -> dict[str, str]:
    """Each node pool is `merge(defaults, {...})`: map pool name -> its override expression."""
    pools = {}
    for expression in _locals(GKE)["node_pools"]:
        name = re.search(r'name = "([a-z0-9-]+)"', expression)
        assert name, expression
        pools[name[1]] = expression
    return pools


def test_gke_node_pools_and_auto_provisioning_match_the_design() -> None:
    pools = _gke_pools()
    assert set(pools) == {"general", "training", "gpu", "gpu-l4"}
    for name in ("training", "gpu", "gpu-l4"):
        assert "spot = true" in pools[name], name
        assert "min_count = 0" in pools[name], name
    assert "accelerator_type = var.gpu_node_pool.accelerator_type" in pools["gpu"]
    assert "accelerator_type = var.gpu_l4_node_pool.accelerator_type" in pools["gpu-l4"]
    gke = GKE.module_calls()["gke"]
    taints = gke["node_pools_taints"]
    assert taints["training"] == [{"key": "workload", "value": "training", "effect": "NO_SCHEDULE"}]
    assert taints["gpu"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    assert taints["gpu-l4"] == taints["gpu"]
    autoscaling = gke["cluster_autoscaling"]
    assert autoscaling["enabled"] is True
    assert "gpu_resources" in autoscaling
    assert GKE.variables()["node_auto_provisioning"]["default"]["gpu_limits"][0]["maximum"] > 0


# --- flow logs -----------------------------------------------------------------------------


def test_aws_vpc_flow_logs_go_to_cloudwatch_at_60s_for_30_days() -> None:
    flow = EKS.module_calls()["flow_log"]
    assert flow["log_destination_type"] == "cloud-watch-logs"
    assert EKS.variables()["flow_log_aggregation_interval"]["default"] == 60
    assert EKS.variables()["flow_log_retention_days"]["default"] == 30
    assert flow["traffic_type"] == "ALL"
    assert "cloudwatch_log_group_kms_key_id" in flow


def test_azure_uses_vnet_flow_logs_with_traffic_analytics() -> None:
    flow = AKS.resources()[("azurerm_network_watcher_flow_log", "this")]
    assert flow["target_resource_id"] == "${azurerm_virtual_network.this.id}"
    assert "network_security_group_id" not in flow, "NSG flow logs are retired (ADR 0006)"
    assert first(flow["traffic_analytics"])["enabled"] is True
    assert first(flow["retention_policy"])["enabled"] is True
    assert ("azurerm_network_watcher", "this") in AKS.resources()


def test_gcp_subnet_flow_logs_are_5s_half_sampled_with_all_metadata() -> None:
    subnet = GKE.module_calls()["network"]["subnets"][0]
    assert subnet["subnet_flow_logs"] == "true"
    assert GKE.variables()["flow_logs"]["default"] == {
        "interval": "INTERVAL_5_SEC",
        "sampling": 0.5,
        "metadata": "INCLUDE_ALL_METADATA",
    }


# --- backups -------------------------------------------------------------------------------


def test_aws_backup_has_daily_and_weekly_plans_for_database_and_bucket() -> None:
    plan = EKS.resources()[("aws_backup_plan", "this")]
    assert [rule["rule_name"] for rule in plan["rule"]] == ["daily", "weekly"]
    selection = EKS.resources()[("aws_backup_selection", "this")]
    assert "${module.database.db_instance_arn}" in selection["resources"]
    assert "${module.artifacts.s3_bucket_arn}" in selection["resources"]


def test_azure_backs_up_database_and_artifacts() -> None:
    assert ("azurerm_data_protection_backup_instance_blob_storage", "artifacts") in AKS.resources()
    assert AKS.variables()["postgresql"]["default"]["backup_retention_days"] >= 7


def test_gcp_database_has_backups_with_point_in_time_recovery() -> None:
    backup = GKE.module_calls()["database"]["backup_configuration"]
    assert backup["enabled"] is True
    assert backup["point_in_time_recovery_enabled"] is True


# --- encryption ----------------------------------------------------------------------------


def test_aws_data_is_encrypted_with_the_rotating_platform_key() -> None:
    assert EKS.resources()[("aws_kms_key", "this")]["enable_key_rotation"] is True
    assert EKS.module_calls()["database"]["storage_encrypted"] is True
    sse = EKS.module_calls()["artifacts"]["server_side_encryption_configuration"]
    assert sse["rule"]["apply_server_side_encryption_by_default"]["sse_algorithm"] == "aws:kms"


def test_azure_storage_and_nodes_are_encrypted() -> None:
    for name in ("artifacts", "flow_logs"):
        account = AKS.resources()[("azurerm_storage_account", name)]
        assert account["infrastructure_encryption_enabled"] is True
        assert account["shared_access_key_enabled"] is False
    assert AKS.variables()["host_encryption_enabled"]["default"] is True


def test_gcp_secrets_and_buckets_use_customer_managed_keys() -> None:
    assert GKE.module_calls()["gke"]["database_encryption"][0]["state"] == "ENCRYPTED"
    bucket = GKE.resources()[("google_storage_bucket", "artifacts")]
    assert "google_kms_crypto_key" in first(bucket["encryption"])["default_kms_key_name"]


# --- workload identity ---------------------------------------------------------------------


def test_aws_irsa_roles_come_from_the_iam_module() -> None:
    irsa = EKS.module_calls()["irsa"]
    assert irsa["source"] == "terraform-aws-modules/iam/aws//modules/iam-role-for-service-accounts"
    roles = _locals(EKS)["irsa_roles"]
    assert {"mlflow", "argo-workflows", "kserve", "external-secrets"} <= set(roles)


def test_aks_has_oidc_issuer_workload_identity_and_federated_credentials() -> None:
    cluster = AKS.resources()[("azurerm_kubernetes_cluster", "this")]
    assert cluster["oidc_issuer_enabled"] is True
    assert cluster["workload_identity_enabled"] is True
    assert cluster["local_account_disabled"] is True
    credential = AKS.resources()[("azurerm_federated_identity_credential", "workload")]
    assert credential["issuer"] == "${azurerm_kubernetes_cluster.this.oidc_issuer_url}"
    assert {"mlflow", "argo-workflows", "kserve", "external-secrets"} <= set(
        _locals(AKS)["workload_identities"]
    )


def test_gke_grants_iam_to_kubernetes_service_accounts_directly() -> None:
    gke = GKE.module_calls()["gke"]
    assert gke["node_metadata"] == "GKE_METADATA"
    assert gke["identity_namespace"] == "${local.workload_pool}"
    assert "principal://iam.googleapis.com/projects/" in GKE.text()
    assert not any(rtype == "google_service_account_key" for rtype, _ in GKE.resources())


# --- data services -------------------------------------------------------------------------


def test_every_cloud_has_object_storage_postgres_secrets_and_a_registry() -> None:
    assert {"artifacts", "database"} <= set(EKS.module_calls())
    assert {("aws_secretsmanager_secret", "this"), ("aws_ecr_repository", "this")} <= set(
        EKS.resources()
    )
    assert {
        ("azurerm_storage_container", "artifacts"),
        ("azurerm_postgresql_flexible_server", "this"),
        ("azurerm_key_vault", "this"),
        ("azurerm_container_registry", "this"),
    } <= set(AKS.resources())
    assert "database" in GKE.module_calls()
    assert {
        ("google_storage_bucket", "artifacts"),
        ("google_secret_manager_secret", "database_password"),
        ("google_artifact_registry_repository", "this"),
    } <= set(GKE.resources())


def test_database_passwords_never_enter_state_where_the_provider_allows() -> None:
    assert EKS.module_calls()["database"]["manage_master_user_password"] is True
    server = AKS.resources()[("azurerm_postgresql_flexible_server", "this")]
    assert "administrator_password" not in server
    assert "ephemeral.random_password" in server["administrator_password_wo"]
    secret = AKS.resources()[("azurerm_key_vault_secret", "database_password")]
    assert "value" not in secret
    assert "value_wo" in secret
