# Prod platform root for AWS: the platform's Helm releases on the cluster created by
# ../cluster, whose outputs it reads from remote state.

data "terraform_remote_state" "cluster" {
  backend = "s3"

  config = {
    bucket       = var.state_bucket
    key          = "mlplatform/aws/prod/cluster.tfstate"
    region       = var.region
    use_lockfile = true
  }
}

locals {
  cluster = data.terraform_remote_state.cluster.outputs
}

module "platform" {
  source = "../../../../modules/platform"

  cloud        = "aws"
  cluster_name = local.cluster.cluster_name
  region       = var.region
  domain       = var.domain
  acme_email   = var.acme_email
  enable_minio = var.enable_minio
  aws_vpc_id   = local.cluster.vpc_id

  service_account_annotations = {
    for component, arn in local.cluster.irsa_role_arns : component => { "eks.amazonaws.com/role-arn" = arn }
  }

  artifact_store = {
    scheme = "s3"
    bucket = local.cluster.artifact_bucket
  }

  database = {
    host     = local.cluster.database.host
    port     = local.cluster.database.port
    name     = local.cluster.database.name
    username = local.cluster.database.username
  }

  remote_secrets = {
    database-password      = { key = local.cluster.database.secret_arn, property = "password" }
    grafana-admin-password = { key = local.cluster.platform_secret_name, property = "grafana-admin-password" }
  }

  secret_store_provider = {
    aws = {
      service = "SecretsManager"
      region  = var.region
    }
  }

  karpenter = {
    node_role_name     = local.cluster.karpenter.node_role_name
    interruption_queue = local.cluster.karpenter.interruption_queue
    cluster_endpoint   = local.cluster.cluster_endpoint
  }
}
