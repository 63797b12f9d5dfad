terraform {
  required_version = ">= 1.11.0, < 2.0.0"

  # Partial configuration: storage account and container come from bootstrap/azure.
  backend "azurerm" {
    key              = "mlplatform/azure/staging/platform.tfstate"
    use_azuread_auth = true
  }

  required_providers {
    helm = {
      source  = "hashicorp/helm"
      version = "3.1.1"
    }
  }
}

# Local accounts are disabled on the cluster: kubelogin exchanges the Azure CLI (or the CI
# workload identity) login for an Entra token; no kubeconfig secrets are stored.
provider "helm" {
  kubernetes = {
    host                   = local.cluster.cluster_endpoint
    cluster_ca_certificate = base64decode(local.cluster.cluster_ca_certificate)
    exec = {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "kubelogin"
      args        = ["get-token", "--login", var.kubelogin_mode, "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"]
    }
  }
}
