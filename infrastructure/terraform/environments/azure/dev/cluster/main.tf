# Dev cluster root for Azure: everything up to a running AKS cluster. The Helm releases are
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

  sku_tier                        = "Free"
  api_server_authorized_ip_ranges = var.api_server_authorized_ip_ranges
  key_vault_allowed_ip_ranges     = var.key_vault_allowed_ip_ranges
  admin_group_object_ids          = var.admin_group_object_ids
  cluster_admin_principal_ids     = var.cluster_admin_principal_ids
}
