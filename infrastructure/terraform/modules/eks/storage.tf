################################################################################
# Artifact bucket for MLflow, Argo Workflows and KServe model storage:
# versioned, SSE-KMS with the platform key, TLS-only, no public access; noncurrent
# versions of request samples (serving-samples/) expire after 1 day.
################################################################################

module "artifacts" {
  source  = "terraform-aws-modules/s3-bucket/aws"
  version = "5.14.1"

  bucket        = "${var.name}-artifacts-${local.account_id}"
  force_destroy = var.artifact_bucket_force_destroy

  control_object_ownership = true
  object_ownership         = "BucketOwnerEnforced"

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true

  attach_deny_insecure_transport_policy = true
  attach_require_latest_tls_policy      = true

  versioning = {
    enabled = true
  }

  server_side_encryption_configuration = {
    rule = {
      bucket_key_enabled = true
      apply_server_side_encryption_by_default = {
        sse_algorithm     = "aws:kms"
        kms_master_key_id = aws_kms_key.this.arn
      }
    }
  }

  lifecycle_rule = [
    {
      id                                     = "expire-noncurrent"
      enabled                                = true
      abort_incomplete_multipart_upload_days = 7
      noncurrent_version_expiration = {
        noncurrent_days = 90
      }
    },
    {
      # Request samples are personal data that the model server deletes after their
      # retention (mlplatform.retention); versioning must not keep them 90 more days.
      # Where rules overlap S3 applies the shorter expiration, so this one wins on the prefix.
      id      = "expire-noncurrent-serving-samples"
      enabled = true
      filter = {
        prefix = "serving-samples/"
      }
      noncurrent_version_expiration = {
        noncurrent_days = 1
      }
      expiration = {
        expired_object_delete_marker = true
      }
    }
  ]

  tags = local.tags
}
