output "cluster_name" {
  description = "GKE cluster name (gcloud container clusters get-credentials ...)."
  value       = module.cluster.cluster_name
}

output "cluster_location" {
  description = "Region of the cluster."
  value       = module.cluster.cluster_location
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

output "project_id" {
  description = "Project of the platform."
  value       = module.cluster.project_id
}

output "artifact_bucket" {
  description = "GCS artifact bucket."
  value       = module.cluster.artifact_bucket
}

output "database" {
  description = "MLflow database connection details (password in Secret Manager)."
  value       = module.cluster.database
}

output "grafana_admin_secret_name" {
  description = "Secret Manager secret with the generated Grafana admin password."
  value       = module.cluster.grafana_admin_secret_name
}

output "artifact_registry" {
  description = "Artifact Registry Docker repository."
  value       = module.cluster.artifact_registry
}
