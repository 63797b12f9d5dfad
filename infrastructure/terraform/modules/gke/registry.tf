################################################################################
# Artifact Registry (Docker) for pipeline-step and serving images, with cleanup policies
# CMEK encryption and vulnerability scanning (Container Analysis API at the project level).
################################################################################

resource "google_artifact_registry_repository" "this" {
  project       = var.project_id
  location      = var.region
  repository_id = var.name
  description   = "Pipeline-step and serving images of ${var.name}"
  format        = "DOCKER"
  kms_key_name  = google_kms_crypto_key.this["registry"].id
  labels        = local.labels

  docker_config {
    immutable_tags = true
  }

  cleanup_policy_dry_run = false

  cleanup_policies {
    id     = "delete-untagged"
    action = "DELETE"

    condition {
      tag_state  = "UNTAGGED"
      older_than = "1209600s"
    }
  }

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"

    most_recent_versions {
      keep_count = 20
    }
  }

  depends_on = [google_kms_crypto_key_iam_member.this]
}
