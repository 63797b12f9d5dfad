output "cluster_name" {
  description = "AKS cluster name."
  value       = azurerm_kubernetes_cluster.this.name
}

output "cluster_id" {
  description = "AKS cluster resource ID."
  value       = azurerm_kubernetes_cluster.this.id
}

output "cluster_endpoint" {
  description = "Kubernetes API endpoint."
  value       = azurerm_kubernetes_cluster.this.kube_config[0].host
  sensitive   = true
}

output "cluster_ca_certificate" {
  description = "Base64 CA certificate of the API endpoint."
  value       = azurerm_kubernetes_cluster.this.kube_config[0].cluster_ca_certificate
  sensitive   = true
}

output "oidc_issuer_url" {
  description = "OIDC issuer of the cluster (workload identity federation)."
  value       = azurerm_kubernetes_cluster.this.oidc_issuer_url
}

output "tenant_id" {
  description = "Entra tenant of the cluster and Key Vault."
  value       = data.azurerm_client_config.current.tenant_id
}

output "workload_identity_client_ids" {
  description = "Client ID per platform component (service account annotation azure.workload.identity/client-id)."
  value       = { for component, identity in azurerm_user_assigned_identity.workload : component => identity.client_id }
}

output "artifact_storage" {
  description = "Storage account and container for MLflow, Argo Workflows and models."
  value = {
    account   = azurerm_storage_account.artifacts.name
    container = azurerm_storage_container.artifacts.name
  }
}

output "database" {
  description = "MLflow database connection details; the password is the Key Vault secret named here."
  value = {
    host        = azurerm_postgresql_flexible_server.this.fqdn
    port        = 5432
    name        = azurerm_postgresql_flexible_server_database.mlflow.name
    username    = azurerm_postgresql_flexible_server.this.administrator_login
    secret_name = azurerm_key_vault_secret.database_password.name
  }
}

output "key_vault_uri" {
  description = "Key Vault URI (External Secrets ClusterSecretStore)."
  value       = azurerm_key_vault.this.vault_uri
}

output "container_registry" {
  description = "ACR login server."
  value       = azurerm_container_registry.this.login_server
}

output "log_analytics_workspace_id" {
  description = "Log Analytics workspace receiving Container Insights and Traffic Analytics."
  value       = azurerm_log_analytics_workspace.this.id
}

output "flow_log_id" {
  description = "VNet flow log resource ID."
  value       = azurerm_network_watcher_flow_log.this.id
}

output "grafana_admin_secret_name" {
  description = "Key Vault secret with the generated Grafana admin password."
  value       = azurerm_key_vault_secret.grafana_admin_password.name
}
