# EKS environment for the ML platform: network, cluster and node groups, Karpenter, artifact
# storage, the MLflow database, workload identities, backups, secrets and image registry.
# Each concern lives in the file named after it; this file holds the shared pieces.

# Pinned by name: the cluster spans exactly these zones, even when AWS adds more.
data "aws_availability_zones" "available" {
  state = "available"

  filter {
    name   = "zone-name"
    values = [for suffix in var.availability_zone_suffixes : "${var.region}${suffix}"]
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  azs        = slice(data.aws_availability_zones.available.names, 0, 3)
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  tags = merge({ cluster = var.name }, var.tags)
}

################################################################################
# Platform encryption key (S3, RDS, Secrets Manager, ECR, Backup, CloudWatch Logs)
################################################################################

data "aws_iam_policy_document" "kms" {
  # checkov:skip=CKV_AWS_109:Key policy: the account root administers its own key (AWS default key policy); "*" means this key.
  # checkov:skip=CKV_AWS_111:Key policy: resources "*" in a key policy is the key itself.
  # checkov:skip=CKV_AWS_356:Key policy: resources "*" in a key policy is the key itself.
  statement {
    sid       = "AccountAdministersKey"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogsEncrypt"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:*"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${var.name} platform data"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
  tags                    = local.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}-platform"
  target_key_id = aws_kms_key.this.key_id
}
