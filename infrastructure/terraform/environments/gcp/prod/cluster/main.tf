# Prod cluster root for GCP: everything up to a running GKE cluster. The Helm releases are
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

  # prod: the values of infrastructure/environments/differences.yaml
  deletion_protection           = true
  artifact_bucket_force_destroy = false
  general_node_pool = {
    machine_type = "e2-standard-2"
    min_count    = 2
    max_count    = 4
  }
  training_node_pool = {
    machine_type = "c2-standard-8"
    max_count    = 10
  }
  gpu_node_pool = {
    machine_type     = "n1-standard-4"
    accelerator_type = "nvidia-tesla-t4"
    max_count        = 4
  }
  node_auto_provisioning = {
    max_cpu_cores = 128
    max_memory_gb = 512
    gpu_limits    = [{ resource_type = "nvidia-tesla-t4", maximum = 4 }, { resource_type = "nvidia-l4", maximum = 4 }]
  }
  database = {
    version             = "POSTGRES_17"
    tier                = "db-custom-4-15360"
    disk_size_gb        = 10
    availability_type   = "REGIONAL"
    retained_backups    = 30
    pitr_retention_days = 7
  }
}
