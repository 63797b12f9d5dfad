# Staging platform root for GCP: the platform's Helm releases on the GKE cluster created by
# ../cluster, whose outputs it reads from remote state. Workload Identity Federation grants
# IAM to the Kubernetes service accounts directly, so no annotations are needed; GKE runs
# the NVIDIA driver and device plugin itself.

data "terraform_remote_state" "cluster" {
  backend = "gcs"

  config = {
    bucket = var.state_bucket
    prefix = "mlplatform/gcp/staging/cluster"
  }
}

locals {
  cluster = data.terraform_remote_state.cluster.outputs
}

module "platform" {
  source = "../../../../modules/platform"

  cloud        = "gcp"
  cluster_name = local.cluster.cluster_name
  region       = var.region
  domain       = var.domain
  acme_email   = var.acme_email
  enable_minio = var.enable_minio

  artifact_store = {
    scheme = "gs"
    bucket = local.cluster.artifact_bucket
  }

  database = {
    host     = local.cluster.database.host
    port     = local.cluster.database.port
    name     = local.cluster.database.name
    username = local.cluster.database.username
  }

  remote_secrets = {
    database-password      = { key = local.cluster.database.secret_name }
    grafana-admin-password = { key = local.cluster.grafana_admin_secret_name }
  }

  secret_store_provider = {
    gcpsm = {
      projectID = local.cluster.project_id
    }
  }
}
