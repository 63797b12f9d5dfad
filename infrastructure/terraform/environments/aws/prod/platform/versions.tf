terraform {
  required_version = ">= 1.11.0, < 2.0.0"

  # Partial configuration: bucket and region come from bootstrap/aws (make tf-init-aws).
  backend "s3" {
    key          = "mlplatform/aws/prod/platform.tfstate"
    encrypt      = true
    use_lockfile = true
  }

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "6.64.0"
    }
    helm = {
      source  = "hashicorp/helm"
      version = "3.1.1"
    }
  }
}

provider "aws" {
  region = var.region
}

# The cluster exists before this root runs (separate state), so the provider is configured
# from known values; exec auth fetches a short-lived token, nothing is stored.
provider "helm" {
  kubernetes = {
    host                   = local.cluster.cluster_endpoint
    cluster_ca_certificate = base64decode(local.cluster.cluster_certificate_authority_data)
    exec = {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", local.cluster.cluster_name, "--region", var.region]
    }
  }
}
