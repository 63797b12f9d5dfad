output "backend_config" {
  description = "Arguments for terraform init -backend-config in the environment roots."
  value = {
    bucket             = google_storage_bucket.state.name
    kms_encryption_key = google_kms_crypto_key.state.id
  }
}

output "workload_identity_provider" {
  description = "Full provider name for google-github-actions/auth (workload_identity_provider)."
  value       = google_iam_workload_identity_pool_provider.github.name
}

output "ci_service_accounts" {
  description = "Service accounts GitHub Actions impersonates for plan and apply."
  value       = { for key, account in google_service_account.ci : key => account.email }
}

output "gke_node_service_account" {
  description = "Service account of the GKE nodes (modules/gke node_service_account)."
  value       = google_service_account.gke_nodes.email
}

output "project_id" {
  description = "Project of the state bucket and the platform."
  value       = var.project_id
}
