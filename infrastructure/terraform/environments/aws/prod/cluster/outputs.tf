output "cluster_name" {
  description = "EKS cluster name (aws eks update-kubeconfig --name ...)."
  value       = module.cluster.cluster_name
}

output "cluster_endpoint" {
  description = "Kubernetes API endpoint."
  value       = module.cluster.cluster_endpoint
}

output "cluster_certificate_authority_data" {
  description = "Base64 CA certificate of the API endpoint."
  value       = module.cluster.cluster_certificate_authority_data
}

output "region" {
  description = "AWS region."
  value       = module.cluster.region
}

output "vpc_id" {
  description = "VPC of the cluster."
  value       = module.cluster.vpc_id
}

output "artifact_bucket" {
  description = "S3 artifact bucket."
  value       = module.cluster.artifact_bucket
}

output "database" {
  description = "MLflow database connection details (password in Secrets Manager)."
  value       = module.cluster.database
  sensitive   = true
}

output "platform_secret_name" {
  description = "Secrets Manager secret with generated admin passwords."
  value       = module.cluster.platform_secret_name
}

output "irsa_role_arns" {
  description = "IRSA role ARN per component."
  value       = module.cluster.irsa_role_arns
}

output "karpenter" {
  description = "Karpenter node role and interruption queue."
  value       = module.cluster.karpenter
}

output "ecr_repository_urls" {
  description = "ECR repositories."
  value       = module.cluster.ecr_repository_urls
}

output "flow_log_group_name" {
  description = "CloudWatch log group of the VPC flow logs."
  value       = module.cluster.flow_log_group_name
}
