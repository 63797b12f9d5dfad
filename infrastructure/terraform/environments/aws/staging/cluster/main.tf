# Staging cluster root for AWS: everything up to a running EKS cluster. The Helm releases are
# applied by ../platform with their own state (ADR 0008).

locals {
  name = "${var.project}-${var.environment}"
  tags = merge({ project = var.project, environment = var.environment, managed-by = "terraform" }, var.tags)
}

module "cluster" {
  source = "../../../../modules/eks"

  name   = local.name
  region = var.region
  tags   = local.tags

  endpoint_public_access_cidrs = var.endpoint_public_access_cidrs
  cluster_admin_role_arns      = var.cluster_admin_role_arns

  # staging: the values of infrastructure/environments/differences.yaml
  single_nat_gateway = true
  general_node_group = {
    instance_types = ["t3.large"]
    min_size       = 2
    max_size       = 4
    desired_size   = 2
  }
  training_node_group = {
    instance_types = ["c5.2xlarge"]
    max_size       = 5
  }
  gpu_node_group = {
    instance_types = ["g4dn.xlarge"]
    max_size       = 2
  }
  database = {
    engine_version          = "17"
    family                  = "postgres17"
    major_engine_version    = "17"
    instance_class          = "db.t4g.medium"
    allocated_storage       = 20
    max_allocated_storage   = 100
    multi_az                = false
    backup_retention_period = 14
    deletion_protection     = true
  }
  artifact_bucket_force_destroy = false
  backup = {
    daily_retention_days  = 35
    weekly_retention_days = 90
  }
  flow_log_retention_days = 30
}
