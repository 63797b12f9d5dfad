# Staging cluster root for GCP: everything up to a running GKE cluster. The Helm releases are
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

  master_authorized_networks = var.master_authorized_networks

  # staging: the values of infrastructure/environments/differences.yaml
  deletion_protection           = true
  artifact_bucket_force_destroy = false
  general_node_pool = {
    machine_type = "e2-standard-2"
    min_count    = 1
    max_count    = 2
  }
  training_node_pool = {
    machine_type = "c2-standard-8"
    max_count    = 5
  }
  gpu_node_pool = {
    machine_type     = "n1-standard-4"
    accelerator_type = "nvidia-tesla-t4"
    max_count        = 2
  }
  node_auto_provisioning = {
    max_cpu_cores = 64
    max_memory_gb = 256
    gpu_limits    = [{ resource_type = "nvidia-tesla-t4", maximum = 4 }, { resource_type = "nvidia-l4", maximum = 4 }]
  }
  database = {
    version             = "POSTGRES_17"
    tier                = "db-custom-2-7680"
    disk_size_gb        = 10
    availability_type   = "ZONAL"
    retained_backups    = 14
    pitr_retention_days = 7
  }
}
