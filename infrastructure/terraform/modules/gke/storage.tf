################################################################################
# Artifact bucket (MLflow, Argo Workflows, models): uniform access, public access
# prevention, versioning, soft delete, CMEK; noncurrent request samples (serving-samples/)
# are deleted after 1 day.
################################################################################

resource "google_storage_bucket" "artifacts" {
  name                        = "${var.project_id}-${var.name}-artifacts"
  project                     = var.project_id
  location                    = var.region
  storage_class               = "STANDARD"
  force_destroy               = var.artifact_bucket_force_destroy
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  labels                      = local.labels

  versioning {
    enabled = true
  }

  encryption {
    default_kms_key_name = google_kms_crypto_key.this["artifacts"].id
  }

  soft_delete_policy {
    retention_duration_seconds = 604800
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 90
      with_state                 = "ARCHIVED"
    }

    action {
      type = "Delete"
    }
  }

  # Request samples are personal data that the model server deletes after their retention
  # (mlplatform.retention): their noncurrent versions go 1 day later, not 90. What this
  # deletes still stays soft-deleted for soft_delete_policy's 7 days.
  lifecycle_rule {
    condition {
      matches_prefix             = ["serving-samples/"]
      days_since_noncurrent_time = 1
      with_state                 = "ARCHIVED"
    }

    action {
      type = "Delete"
    }
  }

  depends_on = [google_kms_crypto_key_iam_member.this]
}
