terraform {
  required_version = ">= 1.11.0, < 2.0.0"

  # Partial configuration: bucket comes from bootstrap/gcp (make tf-init-gcp). GCS locks
  # state natively and the bucket is CMEK-encrypted and versioned.
  backend "gcs" {
    prefix = "mlplatform/gcp/prod/cluster"
  }

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "7.46.0"
    }
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "7.46.0"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "2.38.0"
    }
    # Needed by module.database (sql-db postgresql: null ~> 3.1).
    null = {
      source  = "hashicorp/null"
      version = "3.3.1"
    }
    random = {
      source  = "hashicorp/random"
      version = "3.9.0"
    }
  }
}

provider "google" {
  project        = var.project_id
  region         = var.region
  default_labels = local.labels
}

provider "google-beta" {
  project        = var.project_id
  region         = var.region
  default_labels = local.labels
}
