output "cluster_name" {
  description = "GKE cluster name."
  value       = module.gke.name
}

output "cluster_location" {
  description = "Region of the regional cluster."
  value       = module.gke.location
}

output "cluster_endpoint" {
  description = "Kubernetes API endpoint (https://<ip>)."
  value       = "https://${module.gke.endpoint}"
  sensitive   = true
}

output "cluster_ca_certificate" {
  description = "Base64 CA certificate of the API endpoint."
  value       = module.gke.ca_certificate
  sensitive   = true
}

output "project_id" {
  description = "Project of the platform."
  value       = var.project_id
}

output "workload_pool" {
  description = "Workload Identity pool of the cluster."
  value       = local.workload_pool
}

output "network_name" {
  description = "VPC network name."
  value       = module.network.network_name
}

output "artifact_bucket" {
  description = "GCS bucket for MLflow, Argo Workflows and models."
  value       = google_storage_bucket.artifacts.name
}

output "database" {
  description = "MLflow database connection details; the password is in the Secret Manager secret named here."
  value = {
    host        = module.database.private_ip_address
    port        = 5432
    name        = "mlflow"
    username    = "mlflow"
    secret_name = google_secret_manager_secret.database_password.secret_id
  }
}

output "artifact_registry" {
  description = "Docker repository URL prefix."
  value       = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.this.repository_id}"
}

output "grafana_admin_secret_name" {
  description = "Secret Manager secret with the generated Grafana admin password."
  value       = google_secret_manager_secret.grafana_admin_password.secret_id
}
