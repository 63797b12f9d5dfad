# Staging cluster root for Azure: everything up to a running AKS cluster. The Helm releases are
# applied by ../platform with their own state (ADR 0008).

locals {
  name = "${var.project}-${var.environment}"
  tags = merge({ project = var.project, environment = var.environment, managed-by = "terraform" }, var.tags)
}

module "cluster" {
  source = "../../../../modules/aks"

  name                = local.name
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = local.tags

  api_server_authorized_ip_ranges = var.api_server_authorized_ip_ranges
  key_vault_allowed_ip_ranges     = var.key_vault_allowed_ip_ranges
  admin_group_object_ids          = var.admin_group_object_ids
  cluster_admin_principal_ids     = var.cluster_admin_principal_ids

  # staging: the values of infrastructure/environments/differences.yaml
  sku_tier = "Free"
  system_node_pool = {
    vm_size   = "Standard_D4s_v3"
    min_count = 2
    max_count = 4
  }
  platform_node_pool = {
    vm_size   = "Standard_D4s_v5"
    min_count = 1
    max_count = 4
  }
  training_node_pool = {
    vm_size   = "Standard_D8s_v3"
    max_count = 5
  }
  gpu_node_pool = {
    vm_size   = "Standard_NC4as_T4_v3"
    max_count = 2
  }
  postgresql = {
    version               = "17"
    sku_name              = "B_Standard_B2s"
    storage_mb            = 32768
    backup_retention_days = 14
    geo_redundant_backup  = false
  }
  blob_backup_retention = "P30D"
}
