################################################################################
# Key Vault (RBAC authorization, purge protection) holding the generated secrets that
# External Secrets syncs into the cluster.
################################################################################

resource "azurerm_key_vault" "this" {
  name                       = "${substr(var.name, 0, 14)}-kv-${local.suffix}"
  resource_group_name        = data.azurerm_resource_group.this.name
  location                   = var.location
  tenant_id                  = data.azurerm_client_config.current.tenant_id
  sku_name                   = "standard"
  rbac_authorization_enabled = true
  purge_protection_enabled   = true
  soft_delete_retention_days = 7
  tags                       = local.tags

  network_acls {
    default_action             = "Deny"
    bypass                     = "AzureServices"
    ip_rules                   = var.key_vault_allowed_ip_ranges
    virtual_network_subnet_ids = [azurerm_subnet.aks.id]
  }
}

# Whoever runs Terraform writes the generated secrets.
resource "azurerm_role_assignment" "key_vault_deployer" {
  scope                = azurerm_key_vault.this.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = data.azurerm_client_config.current.object_id
}

resource "azurerm_key_vault_secret" "database_password" {
  name             = "mlflow-database-password"
  key_vault_id     = azurerm_key_vault.this.id
  content_type     = "text/plain; PostgreSQL password of ${azurerm_postgresql_flexible_server.this.administrator_login}"
  value_wo         = ephemeral.random_password.database.result
  value_wo_version = time_rotating.database_password.unix
  expiration_date  = timeadd(time_rotating.database_password.rotation_rfc3339, "720h")
  tags             = local.tags

  depends_on = [azurerm_role_assignment.key_vault_deployer]
}

ephemeral "random_password" "grafana" {
  length  = 32
  special = false
}

resource "azurerm_key_vault_secret" "grafana_admin_password" {
  name             = "grafana-admin-password"
  key_vault_id     = azurerm_key_vault.this.id
  content_type     = "text/plain; Grafana admin password"
  value_wo         = ephemeral.random_password.grafana.result
  value_wo_version = time_rotating.database_password.unix
  expiration_date  = timeadd(time_rotating.database_password.rotation_rfc3339, "720h")
  tags             = local.tags

  depends_on = [azurerm_role_assignment.key_vault_deployer]
}
