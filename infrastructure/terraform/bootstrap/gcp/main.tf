# Remote state (GCS: versioned, CMEK-encrypted, native object locking) and the CI identity
# (Workload Identity Federation with GitHub Actions OIDC: no service account keys anywhere).

data "google_project" "this" {
  project_id = var.project_id
}

data "google_storage_project_service_account" "this" {
  project = var.project_id
}

locals {
  labels = { project = var.name, component = "bootstrap", managed-by = "terraform" }

  # Tokens of exactly three kinds of job are accepted: pull requests, the main branch and the
  # protected environment, all of this one repository (by immutable ID when given).
  subjects = {
    pull_request = "repo:${var.github_repository}:pull_request"
    main         = "repo:${var.github_repository}:ref:refs/heads/main"
    apply        = "repo:${var.github_repository}:environment:${var.github_environment}"
  }
  repository_condition = (
    var.github_repository_id != ""
    ? "assertion.repository_id == '${var.github_repository_id}'"
    : "assertion.repository == '${var.github_repository}'"
  )
  attribute_condition = "${local.repository_condition} && (${join(" || ", [for subject in values(local.subjects) : "assertion.sub == '${subject}'"])})"

  services = ["cloudkms.googleapis.com", "iam.googleapis.com", "iamcredentials.googleapis.com", "sts.googleapis.com", "storage.googleapis.com"]

  # Read-only roles for terraform plan of the cluster roots.
  plan_roles = [
    "roles/artifactregistry.reader", "roles/cloudkms.viewer", "roles/cloudsql.viewer", "roles/compute.viewer",
    "roles/container.clusterViewer", "roles/iam.securityReviewer", "roles/secretmanager.viewer",
    "roles/serviceusage.serviceUsageViewer", "roles/storage.bucketViewer",
  ]

  # What modules/gke creates, and nothing else: no IAM administration at project level (the
  # GKE node service account and its project roles are created here instead).
  apply_roles = [
    "roles/artifactregistry.admin", "roles/cloudkms.admin", "roles/cloudsql.admin", "roles/compute.networkAdmin",
    "roles/compute.securityAdmin", "roles/container.admin", "roles/secretmanager.admin",
    "roles/servicenetworking.networksAdmin", "roles/serviceusage.serviceUsageAdmin", "roles/storage.admin",
  ]

  # Least-privilege roles of the GKE nodes' service account.
  node_roles = [
    "roles/artifactregistry.reader", "roles/logging.logWriter", "roles/monitoring.metricWriter",
    "roles/monitoring.viewer", "roles/stackdriver.resourceMetadata.writer",
  ]
}

resource "google_project_service" "this" {
  for_each = toset(local.services)

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

################################################################################
# State encryption key and bucket
################################################################################

resource "google_kms_key_ring" "state" {
  name     = "${var.name}-tfstate"
  location = var.region
  project  = var.project_id

  depends_on = [google_project_service.this]
}

resource "google_kms_crypto_key" "state" {
  name            = "tfstate"
  key_ring        = google_kms_key_ring.state.id
  rotation_period = "7776000s"
  labels          = local.labels

  lifecycle {
    prevent_destroy = true
  }
}

resource "google_kms_crypto_key_iam_member" "state_gcs" {
  crypto_key_id = google_kms_crypto_key.state.id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:${data.google_storage_project_service_account.this.email_address}"
}

resource "google_storage_bucket" "state" {
  name                        = "${var.project_id}-${var.name}-tfstate"
  project                     = var.project_id
  location                    = var.region
  storage_class               = "STANDARD"
  force_destroy               = false
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  labels                      = local.labels

  versioning {
    enabled = true
  }

  encryption {
    default_kms_key_name = google_kms_crypto_key.state.id
  }

  soft_delete_policy {
    retention_duration_seconds = 2592000
  }

  lifecycle_rule {
    condition {
      num_newer_versions = var.state_versions_kept
      with_state         = "ARCHIVED"
    }

    action {
      type = "Delete"
    }
  }

  depends_on = [google_kms_crypto_key_iam_member.state_gcs]
}

################################################################################
# GitHub Actions Workload Identity Federation
################################################################################

resource "google_iam_workload_identity_pool" "github" {
  project                   = var.project_id
  workload_identity_pool_id = "${var.name}-github"
  display_name              = "GitHub Actions"
  description               = "Federates GitHub Actions OIDC tokens of ${var.github_repository}"

  depends_on = [google_project_service.this]
}

resource "google_iam_workload_identity_pool_provider" "github" {
  # checkov:skip=CKV_GCP_125:The condition allowlists this repository and three exact subjects (local.subjects); checkov cannot evaluate subjects built from variables.
  project                            = var.project_id
  workload_identity_pool_id          = google_iam_workload_identity_pool.github.workload_identity_pool_id
  workload_identity_pool_provider_id = "github-actions"
  display_name                       = "GitHub Actions OIDC"
  attribute_condition                = local.attribute_condition

  attribute_mapping = {
    "google.subject"          = "assertion.sub"
    "attribute.repository"    = "assertion.repository"
    "attribute.repository_id" = "assertion.repository_id"
    "attribute.ref"           = "assertion.ref"
  }

  oidc {
    issuer_uri = "https://token.actions.githubusercontent.com"
  }
}

resource "google_service_account" "ci" {
  for_each = toset(["plan", "apply"])

  project      = var.project_id
  account_id   = "${var.name}-ci-${each.key}"
  display_name = "GitHub Actions terraform ${each.key}"
}

# Plan: any workflow of the one repository. Apply: only jobs in the protected environment.
resource "google_service_account_iam_member" "plan_federation" {
  service_account_id = google_service_account.ci["plan"].name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.github.name}/attribute.repository/${var.github_repository}"
}

resource "google_service_account_iam_member" "apply_federation" {
  service_account_id = google_service_account.ci["apply"].name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principal://iam.googleapis.com/${google_iam_workload_identity_pool.github.name}/subject/${local.subjects.apply}"
}

resource "google_storage_bucket_iam_member" "state" {
  for_each = google_service_account.ci

  bucket = google_storage_bucket.state.name
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${each.value.email}"
}

resource "google_kms_crypto_key_iam_member" "state_ci" {
  for_each = google_service_account.ci

  crypto_key_id = google_kms_crypto_key.state.id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:${each.value.email}"
}

resource "google_project_iam_member" "plan" {
  for_each = toset(local.plan_roles)

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.ci["plan"].email}"
}

resource "google_project_iam_member" "apply" {
  for_each = toset(local.apply_roles)

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.ci["apply"].email}"
}

################################################################################
# GKE node service account (modules/gke node_service_account)
################################################################################

resource "google_service_account" "gke_nodes" {
  project      = var.project_id
  account_id   = "${var.name}-gke-nodes"
  display_name = "GKE nodes of the ${var.name} clusters"
}

resource "google_project_iam_member" "gke_nodes" {
  for_each = toset(local.node_roles)

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.gke_nodes.email}"
}

# Creating node pools needs actAs on the node service account, granted on that account only.
resource "google_service_account_iam_member" "apply_act_as_gke_nodes" {
  service_account_id = google_service_account.gke_nodes.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.ci["apply"].email}"
}
