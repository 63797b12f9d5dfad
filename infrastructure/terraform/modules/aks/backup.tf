################################################################################
# Backups: PostgreSQL keeps automated backups (postgresql.backup_retention_days, point in
# time restore); the artifact container is protected by an Azure Backup vault with an
# operational blob policy on top of blob versioning and soft delete.
################################################################################

resource "azurerm_data_protection_backup_vault" "this" {
  name                       = "${var.name}-backup"
  resource_group_name        = data.azurerm_resource_group.this.name
  location                   = var.location
  datastore_type             = "VaultStore"
  redundancy                 = "LocallyRedundant"
  soft_delete                = "On"
  retention_duration_in_days = 14
  tags                       = local.tags

  identity {
    type = "SystemAssigned"
  }
}

resource "azurerm_role_assignment" "backup_vault_storage" {
  scope                = azurerm_storage_account.artifacts.id
  role_definition_name = "Storage Account Backup Contributor"
  principal_id         = azurerm_data_protection_backup_vault.this.identity[0].principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_data_protection_backup_policy_blob_storage" "this" {
  name                                   = "${var.name}-artifacts"
  vault_id                               = azurerm_data_protection_backup_vault.this.id
  operational_default_retention_duration = var.blob_backup_retention
}

resource "azurerm_data_protection_backup_instance_blob_storage" "artifacts" {
  name               = "${var.name}-artifacts"
  vault_id           = azurerm_data_protection_backup_vault.this.id
  location           = var.location
  storage_account_id = azurerm_storage_account.artifacts.id
  backup_policy_id   = azurerm_data_protection_backup_policy_blob_storage.this.id

  depends_on = [azurerm_role_assignment.backup_vault_storage]
}
