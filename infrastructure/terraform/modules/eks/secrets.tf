################################################################################
# Secrets Manager: one platform secret (Grafana and Argo CD admin passwords) written
# with a write-only argument from an ephemeral random password, so the value never
# lands in Terraform state. Rotation: bump platform_secret_version.
################################################################################

ephemeral "random_password" "platform" {
  length  = 32
  special = false
}

resource "aws_secretsmanager_secret" "this" {
  name                    = "${var.name}/platform"
  description             = "Admin passwords of the ${var.name} platform services"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = 7
  tags                    = local.tags
}

resource "aws_secretsmanager_secret_version" "this" {
  secret_id                = aws_secretsmanager_secret.this.id
  secret_string_wo         = jsonencode({ grafana-admin-password = ephemeral.random_password.platform.result })
  secret_string_wo_version = var.platform_secret_version
}
