terraform {
  required_version = ">= 1.11.0, < 2.0.0"

  # Partial configuration: bucket comes from bootstrap/gcp.
  backend "gcs" {
    prefix = "mlplatform/gcp/staging/platform"
  }

  required_providers {
    helm = {
      source  = "hashicorp/helm"
      version = "3.1.1"
    }
  }
}

# gke-gcloud-auth-plugin exchanges the gcloud (or CI workload identity) login for a token.
provider "helm" {
  kubernetes = {
    host                   = local.cluster.cluster_endpoint
    cluster_ca_certificate = base64decode(local.cluster.cluster_ca_certificate)
    exec = {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "gke-gcloud-auth-plugin"
    }
  }
}
