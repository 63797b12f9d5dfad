# Least-privilege permissions of the CI roles. Every regional action is scoped to this account
# and region; IAM is scoped to roles and policies named after the platform.

locals {
  arn_prefix = "arn:${local.partition}"
  regional   = "${var.region}:${local.account_id}"

  # Plan may only take and release the lock; apply also writes state.
  state_object_actions = {
    plan  = ["s3:GetObject"]
    apply = ["s3:GetObject", "s3:PutObject"]
  }

  # Services the platform's cluster roots create, each scoped to one account and region.
  regional_services = ["ec2", "eks", "rds", "elasticloadbalancing", "autoscaling", "logs", "backup", "ecr", "events", "sqs", "secretsmanager", "ssm"]

  managed_role_patterns = [
    "${local.arn_prefix}:iam::${local.account_id}:role/${var.name}-*",
    "${local.arn_prefix}:iam::${local.account_id}:role/eks/${var.name}-*",
  ]
}

data "aws_iam_policy_document" "state_access" {
  for_each = local.state_object_actions

  statement {
    sid       = "ListStateBucket"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.state.arn]
  }

  statement {
    sid       = "ReadWriteState"
    actions   = each.value
    resources = ["${aws_s3_bucket.state.arn}/*"]
  }

  statement {
    sid       = "StateLockFile"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.state.arn}/*.tflock"]
  }

  statement {
    sid       = "StateEncryption"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.state.arn]
  }
}

data "aws_iam_policy_document" "apply_infrastructure" {
  statement {
    sid       = "RegionalPlatformServices"
    actions   = [for service in local.regional_services : "${service}:*"]
    resources = [for service in local.regional_services : "${local.arn_prefix}:${service}:${local.regional}:*"]
  }

  statement {
    sid       = "DescribeAndTokenCalls"
    actions   = ["ec2:Describe*", "eks:Describe*", "eks:List*", "rds:Describe*", "ecr:GetAuthorizationToken", "kms:ListAliases", "kms:ListKeys", "kms:CreateKey", "backup:List*", "ssm:GetParameter"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [var.region]
    }
  }

  statement {
    sid       = "PlatformKeys"
    actions   = ["kms:*"]
    resources = ["${local.arn_prefix}:kms:${local.regional}:key/*", "${local.arn_prefix}:kms:${local.regional}:alias/${var.name}*", "${local.arn_prefix}:kms:${local.regional}:alias/eks/${var.name}*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/project"
      values   = [var.name]
    }
  }

  statement {
    sid       = "PlatformBuckets"
    actions   = ["s3:*"]
    resources = ["${local.arn_prefix}:s3:::${var.name}-*", "${local.arn_prefix}:s3:::${var.name}-*/*"]
  }

  statement {
    sid = "PlatformRolesAndPolicies"
    actions = [
      "iam:AddRoleToInstanceProfile", "iam:AttachRolePolicy", "iam:CreateInstanceProfile", "iam:CreatePolicy",
      "iam:CreatePolicyVersion", "iam:CreateRole", "iam:DeleteInstanceProfile", "iam:DeletePolicy",
      "iam:DeletePolicyVersion", "iam:DeleteRole", "iam:DeleteRolePolicy", "iam:DetachRolePolicy", "iam:GetInstanceProfile",
      "iam:GetPolicy", "iam:GetPolicyVersion", "iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies",
      "iam:ListInstanceProfilesForRole", "iam:ListPolicyVersions", "iam:ListRolePolicies", "iam:PutRolePolicy",
      "iam:RemoveRoleFromInstanceProfile", "iam:TagInstanceProfile", "iam:TagPolicy", "iam:TagRole", "iam:UntagRole",
      "iam:UpdateAssumeRolePolicy", "iam:UpdateRole", "iam:UpdateRoleDescription",
    ]
    resources = concat(local.managed_role_patterns, [
      "${local.arn_prefix}:iam::${local.account_id}:policy/${var.name}-*",
      "${local.arn_prefix}:iam::${local.account_id}:instance-profile/${var.name}-*",
    ])
  }

  statement {
    sid = "ClusterOidcProvider"
    actions = [
      "iam:CreateOpenIDConnectProvider", "iam:DeleteOpenIDConnectProvider", "iam:GetOpenIDConnectProvider",
      "iam:TagOpenIDConnectProvider", "iam:UpdateOpenIDConnectProviderThumbprint",
    ]
    resources = ["${local.arn_prefix}:iam::${local.account_id}:oidc-provider/oidc.eks.${var.region}.amazonaws.com/*"]
  }

  statement {
    sid       = "PassPlatformRolesToServices"
    actions   = ["iam:PassRole"]
    resources = local.managed_role_patterns

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["eks.amazonaws.com", "ec2.amazonaws.com", "pods.eks.amazonaws.com", "backup.amazonaws.com", "vpc-flow-logs.amazonaws.com", "monitoring.rds.amazonaws.com"]
    }
  }

  statement {
    sid       = "ServiceLinkedRoles"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["${local.arn_prefix}:iam::${local.account_id}:role/aws-service-role/*"]

    condition {
      test     = "StringEquals"
      variable = "iam:AWSServiceName"
      values   = ["eks.amazonaws.com", "eks-nodegroup.amazonaws.com", "autoscaling.amazonaws.com", "elasticloadbalancing.amazonaws.com", "rds.amazonaws.com", "backup.amazonaws.com", "spot.amazonaws.com"]
    }
  }

  statement {
    sid       = "BackupVaultStorage"
    actions   = ["backup-storage:MountCapsule"]
    resources = ["${local.arn_prefix}:backup-storage:${local.regional}:*"]
  }
}
