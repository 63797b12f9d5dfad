# GKE environment for the ML platform: VPC with subnet flow logs, private regional GKE with
# node auto-provisioning (GPU limits included) and Workload Identity Federation, GCS,
# Cloud SQL for PostgreSQL, Secret Manager and Artifact Registry. Each concern lives in the
# file named after it; this file holds the shared pieces.

data "google_project" "this" {
  project_id = var.project_id
}

data "google_storage_project_service_account" "this" {
  project = var.project_id
}

locals {
  labels         = merge({ cluster = var.name }, var.labels)
  project_number = data.google_project.this.number
  workload_pool  = "${var.project_id}.svc.id.goog"

  # Workload Identity Federation for GKE: grant IAM to the Kubernetes service account itself.
  principal_prefix = "principal://iam.googleapis.com/projects/${local.project_number}/locations/global/workloadIdentityPools/${local.workload_pool}/subject"

  services = [
    "artifactregistry.googleapis.com", "cloudkms.googleapis.com", "compute.googleapis.com", "container.googleapis.com",
    "logging.googleapis.com", "monitoring.googleapis.com", "secretmanager.googleapis.com", "servicenetworking.googleapis.com",
    "sqladmin.googleapis.com",
  ]
}

resource "google_project_service" "this" {
  for_each = toset(local.services)

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

################################################################################
# Customer-managed keys: GKE Secrets (application-layer encryption), the artifact bucket
# and the image registry.
################################################################################

# The Artifact Registry service agent exists only once asked for; it must before the key
# grant below.
resource "google_project_service_identity" "artifactregistry" {
  provider = google-beta

  project = var.project_id
  service = "artifactregistry.googleapis.com"

  depends_on = [google_project_service.this]
}

resource "google_kms_key_ring" "this" {
  name     = var.name
  location = var.region
  project  = var.project_id

  depends_on = [google_project_service.this]
}

resource "google_kms_crypto_key" "this" {
  for_each = toset(["gke-secrets", "artifacts", "registry"])

  name            = each.value
  key_ring        = google_kms_key_ring.this.id
  rotation_period = "7776000s"
  labels          = local.labels

  lifecycle {
    prevent_destroy = true
  }
}

resource "google_kms_crypto_key_iam_member" "this" {
  for_each = {
    gke-secrets = "serviceAccount:service-${local.project_number}@container-engine-robot.iam.gserviceaccount.com"
    artifacts   = "serviceAccount:${data.google_storage_project_service_account.this.email_address}"
    registry    = "serviceAccount:${google_project_service_identity.artifactregistry.email}"
  }

  crypto_key_id = google_kms_crypto_key.this[each.key].id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = each.value
}
