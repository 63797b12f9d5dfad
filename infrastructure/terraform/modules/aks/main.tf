# AKS environment for the ML platform: network with VNet flow logs and Traffic Analytics,
# the cluster (OIDC issuer, Workload Identity, KEDA add-on) and its node pools, artifact
# storage, PostgreSQL Flexible Server, Key Vault, ACR and workload identities. Each concern
# lives in the file named after it; this file holds the shared pieces.

data "azurerm_client_config" "current" {}

data "azurerm_resource_group" "this" {
  name = var.resource_group_name
}

locals {
  tags = merge({ cluster = var.name }, var.tags)

  # Globally unique, deterministic names for resources that need them (3-24 lowercase alnum).
  suffix        = substr(sha1("${data.azurerm_client_config.current.subscription_id}/${var.name}"), 0, 6)
  compact_name  = substr(replace(var.name, "-", ""), 0, 14)
  unique_prefix = "${local.compact_name}${local.suffix}"
}

resource "azurerm_log_analytics_workspace" "this" {
  name                = "${var.name}-logs"
  resource_group_name = data.azurerm_resource_group.this.name
  location            = var.location
  sku                 = "PerGB2018"
  retention_in_days   = 30
  tags                = local.tags
}
