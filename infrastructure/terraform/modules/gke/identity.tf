################################################################################
# Workload Identity Federation for GKE: IAM is granted directly to the Kubernetes service
# accounts (principal://.../subject/ns/<namespace>/sa/<name>); no Google service accounts,
# no keys, no annotations.
################################################################################

locals {
  bucket_grants = {
    "mlflow/mlflow"                           = "roles/storage.objectUser"
    "argo/argo-workflow"                      = "roles/storage.objectUser"
    "argo/argo-workflows-server"              = "roles/storage.objectUser"
    "argo/mlplatform-pipelines"               = "roles/storage.objectUser"
    "${var.serving_namespace}/kserve-storage" = "roles/storage.objectViewer"
  }

  secret_readers = ["external-secrets/external-secrets"]
}

resource "google_storage_bucket_iam_member" "workload" {
  for_each = local.bucket_grants

  bucket = google_storage_bucket.artifacts.name
  role   = each.value
  member = "${local.principal_prefix}/ns/${split("/", each.key)[0]}/sa/${split("/", each.key)[1]}"

  depends_on = [module.gke]
}

# The model servers (kserve-storage) read every object (bucket_grants) and write only request
# samples: object create, overwrite and delete under serving-samples/ (`mlp deploy model
# --sample-fraction`; the server deletes days past retention). An IAM condition on the object
# name (the bucket has uniform bucket-level access, which conditions need); listing stays with
# objectViewer, whose list permission is checked on the bucket and so never matches the prefix.
resource "google_storage_bucket_iam_member" "serving_samples" {
  bucket = google_storage_bucket.artifacts.name
  role   = "roles/storage.objectUser"
  member = "${local.principal_prefix}/ns/${var.serving_namespace}/sa/kserve-storage"

  condition {
    title       = "serving-samples-only"
    description = "Objects under serving-samples/ only"
    expression  = "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.artifacts.name}/objects/serving-samples/\")"
  }

  depends_on = [module.gke]
}

resource "google_secret_manager_secret_iam_member" "workload" {
  for_each = {
    for pair in setproduct(local.secret_readers, [google_secret_manager_secret.database_password.secret_id, google_secret_manager_secret.grafana_admin_password.secret_id]) :
    "${pair[0]}/${pair[1]}" => { reader = pair[0], secret_id = pair[1] }
  }

  project   = var.project_id
  secret_id = each.value.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "${local.principal_prefix}/ns/${split("/", each.value.reader)[0]}/sa/${split("/", each.value.reader)[1]}"

  depends_on = [module.gke]
}
