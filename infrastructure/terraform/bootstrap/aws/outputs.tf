output "state_bucket" {
  description = "S3 bucket that holds every root module's state (pass as -backend-config=bucket=...)."
  value       = aws_s3_bucket.state.bucket
}

output "state_region" {
  description = "Region of the state bucket (pass as -backend-config=region=...)."
  value       = var.region
}

output "state_kms_key_arn" {
  description = "KMS key that encrypts the state objects."
  value       = aws_kms_key.state.arn
}

output "ci_plan_role_arn" {
  description = "Role GitHub Actions assumes for terraform plan (set as AWS_PLAN_ROLE_ARN in the repository)."
  value       = aws_iam_role.plan.arn
}

output "ci_apply_role_arn" {
  description = "Role GitHub Actions assumes for terraform apply in the protected environment (AWS_APPLY_ROLE_ARN)."
  value       = aws_iam_role.apply.arn
}

output "backend_config" {
  description = "Arguments for terraform init -backend-config in the environment roots."
  value = {
    bucket       = aws_s3_bucket.state.bucket
    region       = var.region
    encrypt      = true
    use_lockfile = true
    kms_key_id   = aws_kms_key.state.arn
  }
}
