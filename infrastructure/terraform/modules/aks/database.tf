################################################################################
# PostgreSQL Flexible Server for the MLflow backend store: private access through the
# delegated subnet and a private DNS zone. The administrator password comes from an
# ephemeral random password through write-only arguments: it reaches the server and Key
# Vault but never Terraform state. time_rotating renews it every secret_rotation_days.
################################################################################

resource "azurerm_private_dns_zone" "postgresql" {
  name                = "${var.name}.private.postgres.database.azure.com"
  resource_group_name = data.azurerm_resource_group.this.name
  tags                = local.tags
}

resource "azurerm_private_dns_zone_virtual_network_link" "postgresql" {
  name                  = "${var.name}-postgresql"
  resource_group_name   = data.azurerm_resource_group.this.name
  private_dns_zone_name = azurerm_private_dns_zone.postgresql.name
  virtual_network_id    = azurerm_virtual_network.this.id
  tags                  = local.tags
}

resource "time_rotating" "database_password" {
  rotation_days = var.secret_rotation_days
}

ephemeral "random_password" "database" {
  length           = 32
  special          = true
  override_special = "-_.~"
}

resource "azurerm_postgresql_flexible_server" "this" {
  name                          = "${var.name}-mlflow-${local.suffix}"
  resource_group_name           = data.azurerm_resource_group.this.name
  location                      = var.location
  version                       = var.postgresql.version
  sku_name                      = var.postgresql.sku_name
  storage_mb                    = var.postgresql.storage_mb
  auto_grow_enabled             = true
  backup_retention_days         = var.postgresql.backup_retention_days
  geo_redundant_backup_enabled  = var.postgresql.geo_redundant_backup
  delegated_subnet_id           = azurerm_subnet.postgresql.id
  private_dns_zone_id           = azurerm_private_dns_zone.postgresql.id
  public_network_access_enabled = false
  zone                          = "1"
  tags                          = local.tags

  administrator_login               = "mlflow_admin"
  administrator_password_wo         = ephemeral.random_password.database.result
  administrator_password_wo_version = time_rotating.database_password.unix

  authentication {
    active_directory_auth_enabled = true
    password_auth_enabled         = true
    tenant_id                     = data.azurerm_client_config.current.tenant_id
  }

  depends_on = [azurerm_private_dns_zone_virtual_network_link.postgresql]

  lifecycle {
    ignore_changes = [zone]
  }
}

resource "azurerm_postgresql_flexible_server_database" "mlflow" {
  name      = "mlflow"
  server_id = azurerm_postgresql_flexible_server.this.id
  charset   = "UTF8"
  collation = "en_US.utf8"
}

resource "azurerm_postgresql_flexible_server_configuration" "this" {
  for_each = {
    "require_secure_transport"   = "on"
    "log_connections"            = "on"
    "log_disconnections"         = "on"
    "log_checkpoints"            = "on"
    "connection_throttle.enable" = "on"
  }

  name      = each.key
  server_id = azurerm_postgresql_flexible_server.this.id
  value     = each.value
}
