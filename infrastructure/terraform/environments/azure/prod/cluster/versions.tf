terraform {
  required_version = ">= 1.11.0, < 2.0.0"

  # Partial configuration: storage account and container come from bootstrap/azure
  # (make tf-init-azure). Locking uses blob leases; auth is Entra ID, never account keys.
  backend "azurerm" {
    key              = "mlplatform/azure/prod/cluster.tfstate"
    use_azuread_auth = true
  }

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "4.80.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "3.9.0"
    }
    time = {
      source  = "hashicorp/time"
      version = "0.14.2"
    }
  }
}

provider "azurerm" {
  features {
    key_vault {
      purge_soft_delete_on_destroy = false
    }
  }

  subscription_id                 = var.subscription_id
  resource_provider_registrations = "none"
  storage_use_azuread             = true
}
