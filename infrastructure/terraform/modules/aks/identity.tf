################################################################################
# Workload identities: one user-assigned managed identity per platform component,
# federated with the cluster's OIDC issuer for exactly its Kubernetes service accounts,
# holding only the data-plane roles it needs.
################################################################################

locals {
  workload_identities = {
    mlflow = {
      service_accounts = ["mlflow:mlflow"]
      roles            = { artifacts = { scope = azurerm_storage_account.artifacts.id, role = "Storage Blob Data Contributor" } }
    }
    argo-workflows = {
      service_accounts = ["argo:argo-workflow", "argo:argo-workflows-server", "argo:mlplatform-pipelines"]
      roles            = { artifacts = { scope = azurerm_storage_account.artifacts.id, role = "Storage Blob Data Contributor" } }
    }
    kserve = {
      service_accounts = ["${var.serving_namespace}:kserve-storage"]
      roles            = { artifacts = { scope = azurerm_storage_account.artifacts.id, role = "Storage Blob Data Reader" } }
    }
    external-secrets = {
      service_accounts = ["external-secrets:external-secrets"]
      roles            = { secrets = { scope = azurerm_key_vault.this.id, role = "Key Vault Secrets User" } }
    }
  }

  federated_credentials = merge([
    for component, identity in local.workload_identities : {
      for service_account in identity.service_accounts :
      "${component}/${service_account}" => { component = component, subject = "system:serviceaccount:${service_account}" }
    }
  ]...)

  identity_role_assignments = merge([
    for component, identity in local.workload_identities : {
      for key, assignment in identity.roles : "${component}/${key}" => merge(assignment, { component = component })
    }
  ]...)
}

resource "azurerm_user_assigned_identity" "workload" {
  for_each = local.workload_identities

  name                = "${var.name}-${each.key}"
  resource_group_name = data.azurerm_resource_group.this.name
  location            = var.location
  tags                = local.tags
}

resource "azurerm_federated_identity_credential" "workload" {
  for_each = local.federated_credentials

  name                      = replace(replace(each.key, "/", "-"), ":", "-")
  user_assigned_identity_id = azurerm_user_assigned_identity.workload[each.value.component].id
  issuer                    = azurerm_kubernetes_cluster.this.oidc_issuer_url
  audience                  = ["api://AzureADTokenExchange"]
  subject                   = each.value.subject
}

resource "azurerm_role_assignment" "workload" {
  for_each = local.identity_role_assignments

  scope                = each.value.scope
  role_definition_name = each.value.role
  principal_id         = azurerm_user_assigned_identity.workload[each.value.component].principal_id
  principal_type       = "ServicePrincipal"
}

# The model servers (kserve-storage) read every blob (Storage Blob Data Reader above) and write
# only request samples: blobs under serving-samples/ in the artifacts container (`mlp deploy
# model --sample-fraction`; the server deletes days past retention). A custom role with the
# three blob data actions and no control-plane action (Storage Blob Data Contributor would also
# bring container create and delete through ARM, which no condition restricts), assigned on
# the container with an ABAC condition on the blob path. Custom roles are assignable at
# resource-group scope at the narrowest; the assignment is what is narrow.
locals {
  serving_samples_actions = [
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
  ]
}

resource "azurerm_role_definition" "serving_samples" {
  name        = "${local.unique_prefix}-serving-samples-writer"
  scope       = data.azurerm_resource_group.this.id
  description = "Write and delete request samples under serving-samples/ (mlplatform model servers)"

  permissions {
    data_actions = local.serving_samples_actions
  }

  assignable_scopes = [data.azurerm_resource_group.this.id]
}

resource "azurerm_role_assignment" "serving_samples" {
  scope              = "${azurerm_storage_account.artifacts.id}/blobServices/default/containers/${azurerm_storage_container.artifacts.name}"
  role_definition_id = azurerm_role_definition.serving_samples.role_definition_resource_id
  principal_id       = azurerm_user_assigned_identity.workload["kserve"].principal_id
  principal_type     = "ServicePrincipal"
  condition_version  = "2.0"
  condition          = <<-EOT
    (
      (
        !(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write'})
        AND
        !(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action'})
        AND
        !(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete'})
      )
      OR
      (
        @Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringStartsWith 'serving-samples/'
      )
    )
  EOT
}
