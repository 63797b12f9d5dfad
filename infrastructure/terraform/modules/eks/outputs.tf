output "cluster_name" {
  description = "EKS cluster name."
  value       = module.eks.cluster_name
}

output "cluster_endpoint" {
  description = "Kubernetes API endpoint."
  value       = module.eks.cluster_endpoint
}

output "cluster_certificate_authority_data" {
  description = "Base64 CA certificate of the API endpoint."
  value       = module.eks.cluster_certificate_authority_data
}

output "oidc_provider_arn" {
  description = "IAM OIDC provider of the cluster (IRSA)."
  value       = module.eks.oidc_provider_arn
}

output "region" {
  description = "AWS region of the cluster."
  value       = var.region
}

output "vpc_id" {
  description = "VPC ID (the AWS Load Balancer Controller needs it)."
  value       = module.vpc.vpc_id
}

output "flow_log_group_name" {
  description = "CloudWatch log group receiving the VPC flow logs."
  value       = module.flow_log.cloudwatch_log_group_name
}

output "kms_key_arn" {
  description = "Platform KMS key (S3, RDS, Secrets Manager, ECR, Backup, logs)."
  value       = aws_kms_key.this.arn
}

output "artifact_bucket" {
  description = "S3 bucket for MLflow artifacts, Argo Workflows artifacts and models."
  value       = module.artifacts.s3_bucket_id
}

output "database" {
  description = "MLflow database connection details; the password is in Secrets Manager (secret_arn)."
  value = {
    host       = module.database.db_instance_address
    port       = module.database.db_instance_port
    name       = module.database.db_instance_name
    username   = module.database.db_instance_username
    secret_arn = module.database.db_instance_master_user_secret_arn
  }
  sensitive = true
}

output "platform_secret_name" {
  description = "Secrets Manager secret with the generated platform admin passwords."
  value       = aws_secretsmanager_secret.this.name
}

output "irsa_role_arns" {
  description = "IRSA role ARN per platform component (service account annotation eks.amazonaws.com/role-arn)."
  value       = { for component, role in module.irsa : component => role.arn }
}

output "karpenter" {
  description = "Values the Karpenter chart and NodeClass need."
  value = {
    node_role_name     = module.karpenter.node_iam_role_name
    interruption_queue = module.karpenter.queue_name
  }
}

output "ecr_repository_urls" {
  description = "ECR repository URL per image family."
  value       = { for name, repository in aws_ecr_repository.this : name => repository.repository_url }
}

output "backup_vault_name" {
  description = "AWS Backup vault holding the daily and weekly recovery points."
  value       = aws_backup_vault.this.name
}
