################################################################################
# Azure Container Registry for pipeline-step and serving images. The kubelet identity
# pulls with AcrPull; admin user and anonymous pull stay off.
################################################################################

resource "azurerm_container_registry" "this" {
  name                          = "${local.unique_prefix}acr"
  resource_group_name           = data.azurerm_resource_group.this.name
  location                      = var.location
  sku                           = var.acr_sku
  admin_enabled                 = false
  anonymous_pull_enabled        = false
  public_network_access_enabled = true
  tags                          = local.tags
}

resource "azurerm_role_assignment" "kubelet_acr_pull" {
  scope                = azurerm_container_registry.this.id
  role_definition_name = "AcrPull"
  principal_id         = azurerm_kubernetes_cluster.this.kubelet_identity[0].object_id
  principal_type       = "ServicePrincipal"
}
