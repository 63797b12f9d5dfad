output "cluster_name" {
  description = "AKS cluster name (az aks get-credentials --name ...)."
  value       = module.cluster.cluster_name
}

output "resource_group_name" {
  description = "Resource group of the cluster."
  value       = var.resource_group_name
}

output "cluster_endpoint" {
  description = "Kubernetes API endpoint."
  value       = module.cluster.cluster_endpoint
  sensitive   = true
}

output "cluster_ca_certificate" {
  description = "Base64 CA certificate of the API endpoint."
  value       = module.cluster.cluster_ca_certificate
  sensitive   = true
}

output "tenant_id" {
  description = "Entra tenant."
  value       = module.cluster.tenant_id
}

output "workload_identity_client_ids" {
  description = "Workload identity client ID per component."
  value       = module.cluster.workload_identity_client_ids
}

output "artifact_storage" {
  description = "Artifact storage account and container."
  value       = module.cluster.artifact_storage
}

output "database" {
  description = "MLflow database connection details (password in Key Vault)."
  value       = module.cluster.database
}

output "key_vault_uri" {
  description = "Key Vault URI."
  value       = module.cluster.key_vault_uri
}

output "grafana_admin_secret_name" {
  description = "Key Vault secret with the generated Grafana admin password."
  value       = module.cluster.grafana_admin_secret_name
}

output "container_registry" {
  description = "ACR login server."
  value       = module.cluster.container_registry
}
