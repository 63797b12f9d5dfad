# Remote state (Blob storage: versioned, soft-delete, infrastructure-encrypted, locked by blob
# lease) and the CI identities (user-assigned managed identities federated with GitHub Actions
# OIDC: no client secrets anywhere).

data "azurerm_client_config" "current" {}

data "azurerm_subscription" "current" {}

locals {
  oidc_issuer = "https://token.actions.githubusercontent.com"
  audience    = "api://AzureADTokenExchange"
  suffix      = substr(sha1(data.azurerm_subscription.current.subscription_id), 0, 8)
  tags        = merge({ project = var.name, component = "bootstrap", managed-by = "terraform" }, var.tags)

  # Subjects GitHub puts in the token; Azure matches them exactly.
  federated_subjects = {
    plan-pull-request = { identity = "plan", subject = "repo:${var.github_repository}:pull_request" }
    plan-main         = { identity = "plan", subject = "repo:${var.github_repository}:ref:refs/heads/main" }
    apply-environment = { identity = "apply", subject = "repo:${var.github_repository}:environment:${var.github_environment}" }
  }

  # Roles the apply identity may hand out inside the platform resource group (and no others).
  assignable_role_ids = [
    "7f951dda-4ed3-4680-a7ca-43fe172d538d", # AcrPull
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe", # Storage Blob Data Contributor
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", # Storage Blob Data Reader
    "4633458b-17de-408a-b874-0445c86b69e6", # Key Vault Secrets User
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7", # Key Vault Secrets Officer
    "4d97b98b-1d4f-4787-a291-c67834d212e7", # Network Contributor
    "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b", # Azure Kubernetes Service RBAC Cluster Admin
    "3913510d-42f4-4e42-8a64-420c390055eb", # Monitoring Metrics Publisher
    "e5e2a7ff-d759-4cd2-bb51-3152d37e2eb1", # Storage Account Backup Contributor
  ]
  assignable_roles = join(", ", local.assignable_role_ids)
}

################################################################################
# State storage
################################################################################

resource "azurerm_resource_group" "state" {
  name     = "${var.name}-tfstate"
  location = var.location
  tags     = local.tags
}

resource "azurerm_storage_account" "state" {
  name                              = "${var.name}tf${local.suffix}"
  resource_group_name               = azurerm_resource_group.state.name
  location                          = azurerm_resource_group.state.location
  account_kind                      = "StorageV2"
  account_tier                      = "Standard"
  account_replication_type          = var.state_replication_type
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
    versioning_enabled  = true
    change_feed_enabled = true

    delete_retention_policy {
      days = var.state_retention_days
    }

    container_delete_retention_policy {
      days = var.state_retention_days
    }
  }

  sas_policy {
    expiration_period = "00.01:00:00"
  }
}

resource "azurerm_storage_container" "state" {
  name                  = "tfstate"
  storage_account_id    = azurerm_storage_account.state.id
  container_access_type = "private"
}

################################################################################
# Platform resource group and CI identities
################################################################################

resource "azurerm_resource_group" "platform" {
  name     = var.platform_resource_group_name
  location = var.location
  tags     = merge(local.tags, { component = "platform" })
}

resource "azurerm_user_assigned_identity" "ci" {
  for_each = toset(["plan", "apply"])

  name                = "${var.name}-ci-${each.key}"
  resource_group_name = azurerm_resource_group.state.name
  location            = azurerm_resource_group.state.location
  tags                = local.tags
}

resource "azurerm_federated_identity_credential" "github" {
  for_each = local.federated_subjects

  name                      = "github-${each.key}"
  user_assigned_identity_id = azurerm_user_assigned_identity.ci[each.value.identity].id
  issuer                    = local.oidc_issuer
  audience                  = [local.audience]
  subject                   = each.value.subject
}

# Both identities lease and read state; only apply writes infrastructure.
resource "azurerm_role_assignment" "state" {
  for_each = azurerm_user_assigned_identity.ci

  scope                = azurerm_storage_container.state.id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = each.value.principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_role_assignment" "plan_reader" {
  scope                = azurerm_resource_group.platform.id
  role_definition_name = "Reader"
  principal_id         = azurerm_user_assigned_identity.ci["plan"].principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_role_assignment" "apply_contributor" {
  scope                = azurerm_resource_group.platform.id
  role_definition_name = "Contributor"
  principal_id         = azurerm_user_assigned_identity.ci["apply"].principal_id
  principal_type       = "ServicePrincipal"
}

# Role assignments for the cluster's workload identities, limited to the roles listed above.
resource "azurerm_role_assignment" "apply_role_assignments" {
  scope                = azurerm_resource_group.platform.id
  role_definition_name = "Role Based Access Control Administrator"
  principal_id         = azurerm_user_assigned_identity.ci["apply"].principal_id
  principal_type       = "ServicePrincipal"
  condition_version    = "2.0"
  condition            = <<-EOT
    (
      (
        !(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})
      )
      OR
      (
        @Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${local.assignable_roles}}
      )
    )
    AND
    (
      (
        !(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})
      )
      OR
      (
        @Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${local.assignable_roles}}
      )
    )
  EOT
}
