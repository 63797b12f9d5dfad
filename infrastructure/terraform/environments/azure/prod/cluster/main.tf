# Prod cluster root for Azure: everything up to a running AKS cluster. The Helm releases are
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

  # prod: the values of infrastructure/environments/differences.yaml
  sku_tier = "Standard"
  system_node_pool = {
    vm_size   = "Standard_D4s_v3"
    min_count = 3
    max_count = 6
  }
  platform_node_pool = {
    vm_size   = "Standard_D4s_v5"
    min_count = 2
    max_count = 8
  }
  training_node_pool = {
    vm_size   = "Standard_D8s_v3"
    max_count = 10
  }
  gpu_node_pool = {
    vm_size   = "Standard_NC4as_T4_v3"
    max_count = 4
  }
  postgresql = {
    version               = "17"
    sku_name              = "GP_Standard_D2ds_v5"
    storage_mb            = 32768
    backup_retention_days = 35
    geo_redundant_backup  = true
  }
  blob_backup_retention = "P90D"
}
