################################################################################
# Artifact storage (MLflow, Argo Workflows, models): Blob container, Entra-only access
# (no shared keys), versioning and soft delete, reachable from the AKS subnet only; versions
# and snapshots of request samples (serving-samples/) are deleted after 1 day.
################################################################################

resource "azurerm_storage_account" "artifacts" {
  name                              = "${local.unique_prefix}art"
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
    versioning_enabled = true

    delete_retention_policy {
      days = 30
    }

    container_delete_retention_policy {
      days = 30
    }
  }

  network_rules {
    default_action             = "Deny"
    bypass                     = ["AzureServices"]
    virtual_network_subnet_ids = [azurerm_subnet.aks.id]
  }

  sas_policy {
    expiration_period = "00.01:00:00"
  }
}

resource "azurerm_storage_container" "artifacts" {
  name                  = "artifacts"
  storage_account_id    = azurerm_storage_account.artifacts.id
  container_access_type = "private"
}

# Request samples are personal data that the model server deletes after their retention
# (mlplatform.retention). With versioning on, a deleted blob stays as a previous version:
# versions and snapshots under serving-samples/ go 1 day after they were created. Blob soft
# delete is account-wide (blob_properties above) and cannot be narrowed to a prefix, so
# what this deletes stays soft-deleted for delete_retention_policy's days.
resource "azurerm_storage_management_policy" "artifacts" {
  storage_account_id = azurerm_storage_account.artifacts.id

  rule {
    name    = "delete-serving-samples-versions"
    enabled = true

    filters {
      prefix_match = ["${azurerm_storage_container.artifacts.name}/serving-samples/"]
      blob_types   = ["blockBlob"]
    }

    actions {
      version {
        delete_after_days_since_creation = 1
      }

      snapshot {
        delete_after_days_since_creation_greater_than = 1
      }
    }
  }
}
