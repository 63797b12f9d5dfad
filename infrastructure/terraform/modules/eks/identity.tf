################################################################################
# IRSA roles (terraform-aws-modules/iam iam-role-for-service-accounts): each service
# account gets one role with only the permissions it needs.
################################################################################

locals {
  bucket_arn = module.artifacts.s3_bucket_arn

  irsa_roles = {
    mlflow = {
      service_accounts = ["mlflow:mlflow"]
      permissions = {
        ArtifactsReadWrite = {
          actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
          resources = ["${local.bucket_arn}/mlflow/*"]
        }
        ArtifactsList = {
          actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
          resources = [local.bucket_arn]
        }
        ArtifactsKey = {
          actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
          resources = [aws_kms_key.this.arn]
        }
      }
    }
    argo-workflows = {
      service_accounts = ["argo:argo-workflow", "argo:argo-workflows-server", "argo:mlplatform-pipelines"]
      permissions = {
        ArtifactsReadWrite = {
          actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
          resources = ["${local.bucket_arn}/argo/*", "${local.bucket_arn}/pipelines/*"]
        }
        ArtifactsList = {
          actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
          resources = [local.bucket_arn]
        }
        ArtifactsKey = {
          actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
          resources = [aws_kms_key.this.arn]
        }
      }
    }
    kserve = {
      service_accounts = ["${var.serving_namespace}:kserve-storage"]
      permissions = {
        ModelsRead = {
          actions   = ["s3:GetObject"]
          resources = ["${local.bucket_arn}/mlflow/*", "${local.bucket_arn}/models/*"]
        }
        ModelsList = {
          actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
          resources = [local.bucket_arn]
        }
        # Request samples of models deployed with --sample-fraction (mlp deploy model): the
        # model server writes them, heads and lists them, and deletes days past retention.
        # Only this prefix; GetObject because S3 answers HeadObject with GetObject's rights.
        ServingSamplesReadWrite = {
          actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
          resources = ["${local.bucket_arn}/serving-samples/*"]
        }
        # GenerateDataKey: writing to the SSE-KMS bucket (the samples)
        ModelsKey = {
          actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
          resources = [aws_kms_key.this.arn]
        }
      }
    }
    external-secrets = {
      service_accounts = ["external-secrets:external-secrets"]
      permissions      = null
    }
    aws-load-balancer-controller = {
      service_accounts = ["kube-system:aws-load-balancer-controller"]
      permissions      = null
    }
    ebs-csi = {
      service_accounts = ["kube-system:ebs-csi-controller-sa"]
      permissions      = null
    }
  }
}

module "irsa" {
  source   = "terraform-aws-modules/iam/aws//modules/iam-role-for-service-accounts"
  version  = "6.8.1"
  for_each = local.irsa_roles

  name            = "${var.name}-${each.key}"
  use_name_prefix = false
  description     = "IRSA role of ${join(", ", each.value.service_accounts)}"
  policy_name     = "${var.name}-${each.key}"

  oidc_providers = {
    this = {
      provider_arn               = module.eks.oidc_provider_arn
      namespace_service_accounts = each.value.service_accounts
    }
  }

  permissions = each.value.permissions

  attach_external_secrets_policy        = each.key == "external-secrets"
  external_secrets_secrets_manager_arns = each.key == "external-secrets" ? [aws_secretsmanager_secret.this.arn, module.database.db_instance_master_user_secret_arn] : []
  external_secrets_kms_key_arns         = each.key == "external-secrets" ? [aws_kms_key.this.arn] : []

  attach_load_balancer_controller_policy = each.key == "aws-load-balancer-controller"

  attach_ebs_csi_policy = each.key == "ebs-csi"
  ebs_csi_kms_cmk_arns  = each.key == "ebs-csi" ? [aws_kms_key.this.arn] : []

  tags = local.tags
}
