################################################################################
# RDS PostgreSQL for the MLflow backend store. The master password is generated and
# rotated by RDS in Secrets Manager (manage_master_user_password): it never enters
# Terraform state; External Secrets syncs it into the cluster.
################################################################################

resource "aws_security_group" "database" {
  name_prefix = "${var.name}-database-"
  description = "PostgreSQL for MLflow, reachable from the cluster nodes only"
  vpc_id      = module.vpc.vpc_id
  tags        = merge(local.tags, { Name = "${var.name}-database" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "database_from_nodes" {
  for_each = {
    nodes   = module.eks.node_security_group_id
    cluster = module.eks.cluster_primary_security_group_id
  }

  security_group_id            = aws_security_group.database.id
  description                  = "PostgreSQL from EKS ${each.key} security group"
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

module "database" {
  source  = "terraform-aws-modules/rds/aws"
  version = "7.0.0"

  identifier = "${var.name}-mlflow"

  engine               = "postgres"
  engine_version       = var.database.engine_version
  family               = var.database.family
  major_engine_version = var.database.major_engine_version
  instance_class       = var.database.instance_class

  allocated_storage     = var.database.allocated_storage
  max_allocated_storage = var.database.max_allocated_storage
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.this.arn

  db_name                       = "mlflow"
  username                      = "mlflow"
  port                          = 5432
  manage_master_user_password   = true
  master_user_secret_kms_key_id = aws_kms_key.this.arn

  iam_database_authentication_enabled = true

  multi_az               = var.database.multi_az
  db_subnet_group_name   = module.vpc.database_subnet_group_name
  vpc_security_group_ids = [aws_security_group.database.id]
  publicly_accessible    = false

  backup_retention_period = var.database.backup_retention_period
  backup_window           = "03:00-04:00"
  maintenance_window      = "Mon:04:30-Mon:05:30"
  copy_tags_to_snapshot   = true
  deletion_protection     = var.database.deletion_protection
  skip_final_snapshot     = false

  auto_minor_version_upgrade      = true
  performance_insights_enabled    = true
  performance_insights_kms_key_id = aws_kms_key.this.arn
  enabled_cloudwatch_logs_exports = ["postgresql", "upgrade"]
  create_cloudwatch_log_group     = true

  parameters = [
    { name = "rds.force_ssl", value = "1" },
    { name = "log_connections", value = "1" },
  ]

  tags = local.tags
}
