output "backend_config" {
  description = "Arguments for terraform init -backend-config in the environment roots."
  value = {
    resource_group_name  = azurerm_resource_group.state.name
    storage_account_name = azurerm_storage_account.state.name
    container_name       = azurerm_storage_container.state.name
    use_azuread_auth     = true
  }
}

output "platform_resource_group_name" {
  description = "Resource group the environment roots deploy into."
  value       = azurerm_resource_group.platform.name
}

output "ci_client_ids" {
  description = "Client IDs of the plan and apply identities (AZURE_CLIENT_ID for azure/login in GitHub Actions)."
  value       = { for key, identity in azurerm_user_assigned_identity.ci : key => identity.client_id }
}

output "ci_principal_ids" {
  description = "Object IDs of the CI identities (give the apply one to modules/aks cluster_admin_principal_ids)."
  value       = { for key, identity in azurerm_user_assigned_identity.ci : key => identity.principal_id }
}

output "tenant_id" {
  description = "Entra tenant ID (AZURE_TENANT_ID in GitHub Actions)."
  value       = data.azurerm_client_config.current.tenant_id
}

output "subscription_id" {
  description = "Subscription ID (AZURE_SUBSCRIPTION_ID in GitHub Actions)."
  value       = data.azurerm_subscription.current.subscription_id
}
