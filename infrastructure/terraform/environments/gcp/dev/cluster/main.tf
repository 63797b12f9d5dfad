# Dev cluster root for GCP: everything up to a running GKE cluster. The Helm releases are
# applied by ../platform with their own state (ADR 0008).

locals {
  name   = "${var.project}-${var.environment}"
  labels = merge({ project = var.project, environment = var.environment, managed-by = "terraform" }, var.labels)
}

module "cluster" {
  source = "../../../../modules/gke"

  project_id = var.project_id
  name       = local.name
  region     = var.region
  labels     = local.labels

  node_service_account = var.node_service_account

  master_authorized_networks    = var.master_authorized_networks
  deletion_protection           = false
  artifact_bucket_force_destroy = true
}
