################################################################################
# VNet with an AKS subnet and a delegated PostgreSQL subnet, each behind an NSG.
################################################################################

resource "azurerm_network_watcher" "this" {
  count = var.create_network_watcher ? 1 : 0

  name                = "${var.name}-network-watcher"
  resource_group_name = data.azurerm_resource_group.this.name
  location            = var.location
  tags                = local.tags
}

data "azurerm_network_watcher" "existing" {
  count = var.create_network_watcher ? 0 : 1

  name                = "NetworkWatcher_${var.location}"
  resource_group_name = "NetworkWatcherRG"
}

locals {
  network_watcher = (
    var.create_network_watcher
    ? { name = azurerm_network_watcher.this[0].name, resource_group_name = azurerm_network_watcher.this[0].resource_group_name }
    : { name = data.azurerm_network_watcher.existing[0].name, resource_group_name = data.azurerm_network_watcher.existing[0].resource_group_name }
  )

  subnets = {
    aks        = cidrsubnet(var.vnet_cidr, 4, 0)
    postgresql = cidrsubnet(var.vnet_cidr, 8, 16)
  }
}

resource "azurerm_virtual_network" "this" {
  name                = "${var.name}-vnet"
  resource_group_name = data.azurerm_resource_group.this.name
  location            = var.location
  address_space       = [var.vnet_cidr]
  tags                = local.tags

  # Creating the watcher first keeps Azure from auto-creating a second one for the region.
  depends_on = [azurerm_network_watcher.this]
}

resource "azurerm_subnet" "aks" {
  name                 = "aks"
  resource_group_name  = data.azurerm_resource_group.this.name
  virtual_network_name = azurerm_virtual_network.this.name
  address_prefixes     = [local.subnets.aks]
  service_endpoints    = ["Microsoft.Storage", "Microsoft.KeyVault", "Microsoft.ContainerRegistry"]
}

resource "azurerm_subnet" "postgresql" {
  name                 = "postgresql"
  resource_group_name  = data.azurerm_resource_group.this.name
  virtual_network_name = azurerm_virtual_network.this.name
  address_prefixes     = [local.subnets.postgresql]

  delegation {
    name = "postgresql-flexible-server"

    service_delegation {
      name    = "Microsoft.DBforPostgreSQL/flexibleServers"
      actions = ["Microsoft.Network/virtualNetworks/subnets/join/action"]
    }
  }
}

resource "azurerm_network_security_group" "aks" {
  name                = "${var.name}-aks-nsg"
  resource_group_name = data.azurerm_resource_group.this.name
  location            = var.location
  tags                = local.tags
}

resource "azurerm_network_security_group" "postgresql" {
  name                = "${var.name}-postgresql-nsg"
  resource_group_name = data.azurerm_resource_group.this.name
  location            = var.location
  tags                = local.tags

  security_rule {
    name                       = "postgresql-from-aks"
    description                = "PostgreSQL from the AKS subnet only"
    priority                   = 100
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_range     = "5432"
    source_address_prefix      = local.subnets.aks
    destination_address_prefix = local.subnets.postgresql
  }

  security_rule {
    name                       = "deny-other-vnet-inbound"
    description                = "Nothing else in the VNet reaches the database subnet"
    priority                   = 4000
    direction                  = "Inbound"
    access                     = "Deny"
    protocol                   = "*"
    source_port_range          = "*"
    destination_port_range     = "*"
    source_address_prefix      = "VirtualNetwork"
    destination_address_prefix = local.subnets.postgresql
  }
}

resource "azurerm_subnet_network_security_group_association" "aks" {
  subnet_id                 = azurerm_subnet.aks.id
  network_security_group_id = azurerm_network_security_group.aks.id
}

resource "azurerm_subnet_network_security_group_association" "postgresql" {
  subnet_id                 = azurerm_subnet.postgresql.id
  network_security_group_id = azurerm_network_security_group.postgresql.id
}

################################################################################
# VNet flow logs with Traffic Analytics. NSG flow logs can no longer be created (retired,
# ADR 0006): the flow log targets the VNet itself through target_resource_id.
################################################################################

resource "azurerm_storage_account" "flow_logs" {
  name                              = "${local.unique_prefix}flow"
  resource_group_name               = data.azurerm_resource_group.this.name
  location                          = var.location
  account_kind                      = "StorageV2"
  account_tier                      = "Standard"
  account_replication_type          = var.storage_replication_type
  min_tls_version                   = "TLS1_2"
  https_traffic_only_enabled        = true
  allow_nested_items_to_be_public   = false
  shared_access_key_enabled         = false
  default_to_oauth_authentication   = true
  infrastructure_encryption_enabled = true
  local_user_enabled                = false
  cross_tenant_replication_enabled  = false
  tags                              = local.tags

  blob_properties {
    delete_retention_policy {
      days = 7
    }

    container_delete_retention_policy {
      days = 7
    }
  }

  network_rules {
    default_action = "Deny"
    bypass         = ["AzureServices", "Logging", "Metrics"]
  }

  sas_policy {
    expiration_period = "00.01:00:00"
  }
}

resource "azurerm_network_watcher_flow_log" "this" {
  name                 = "${var.name}-vnet-flow-log"
  network_watcher_name = local.network_watcher.name
  resource_group_name  = local.network_watcher.resource_group_name
  location             = var.location
  target_resource_id   = azurerm_virtual_network.this.id
  storage_account_id   = azurerm_storage_account.flow_logs.id
  enabled              = true
  version              = 2
  tags                 = local.tags

  retention_policy {
    enabled = true
    days    = var.flow_log_retention_days
  }

  traffic_analytics {
    enabled               = true
    workspace_id          = azurerm_log_analytics_workspace.this.workspace_id
    workspace_region      = azurerm_log_analytics_workspace.this.location
    workspace_resource_id = azurerm_log_analytics_workspace.this.id
    interval_in_minutes   = var.traffic_analytics_interval
  }
}
