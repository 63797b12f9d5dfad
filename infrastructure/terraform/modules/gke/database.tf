################################################################################
# Cloud SQL for PostgreSQL (private IP only, TLS required, PITR) for the MLflow backend
# store, and the Secret Manager secret External Secrets syncs into the cluster. The
# password is copied with a write-only argument; it is also in the sql-db module's state
# output (generated_user_password), so the state bucket is CMEK-encrypted and access-limited.
################################################################################

module "database" {
  source  = "terraform-google-modules/sql-db/google//modules/postgresql"
  version = "28.1.0"

  project_id           = var.project_id
  name                 = "${var.name}-mlflow"
  random_instance_name = true
  region               = var.region
  zone                 = "${var.region}-b"

  database_version  = var.database.version
  edition           = "ENTERPRISE"
  tier              = var.database.tier
  availability_type = var.database.availability_type
  disk_size         = var.database.disk_size_gb
  disk_autoresize   = true

  deletion_protection         = var.deletion_protection
  deletion_protection_enabled = var.deletion_protection

  ip_configuration = {
    ipv4_enabled       = false
    private_network    = module.network.network_self_link
    allocated_ip_range = google_compute_global_address.private_services.name
    ssl_mode           = "ENCRYPTED_ONLY"
  }

  backup_configuration = {
    enabled                        = true
    start_time                     = "03:00"
    point_in_time_recovery_enabled = true
    transaction_log_retention_days = var.database.pitr_retention_days
    retained_backups               = var.database.retained_backups
    retention_unit                 = "COUNT"
  }

  database_flags = [
    { name = "log_checkpoints", value = "on" },
    { name = "log_connections", value = "on" },
    { name = "log_disconnections", value = "on" },
    { name = "log_lock_waits", value = "on" },
    { name = "log_min_error_statement", value = "error" },
    { name = "log_temp_files", value = "0" },
    { name = "log_min_duration_statement", value = "-1" },
  ]

  db_name             = "mlflow"
  db_charset          = "UTF8"
  db_collation        = "en_US.UTF8"
  user_name           = "mlflow"
  enable_default_user = true

  user_labels = local.labels

  depends_on = [google_service_networking_connection.this]
}

resource "google_secret_manager_secret" "database_password" {
  project   = var.project_id
  secret_id = "${var.name}-mlflow-database-password"
  labels    = local.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.this]
}

resource "google_secret_manager_secret_version" "database_password" {
  secret                 = google_secret_manager_secret.database_password.id
  secret_data_wo         = module.database.generated_user_password
  secret_data_wo_version = var.secret_version
}

ephemeral "random_password" "grafana" {
  length  = 32
  special = false
}

resource "google_secret_manager_secret" "grafana_admin_password" {
  project   = var.project_id
  secret_id = "${var.name}-grafana-admin-password"
  labels    = local.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.this]
}

resource "google_secret_manager_secret_version" "grafana_admin_password" {
  secret                 = google_secret_manager_secret.grafana_admin_password.id
  secret_data_wo         = ephemeral.random_password.grafana.result
  secret_data_wo_version = var.secret_version
}
