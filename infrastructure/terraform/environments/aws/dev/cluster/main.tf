# Dev cluster root for AWS: everything up to a running EKS cluster. The Helm releases are
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
  single_nat_gateway           = true

  database = {
    engine_version          = "17"
    family                  = "postgres17"
    major_engine_version    = "17"
    instance_class          = "db.t4g.small"
    allocated_storage       = 20
    max_allocated_storage   = 100
    multi_az                = false
    backup_retention_period = 7
    deletion_protection     = false
  }

  artifact_bucket_force_destroy = true
}
