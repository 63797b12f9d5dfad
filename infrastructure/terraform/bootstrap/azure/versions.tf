terraform {
  # Bootstrap creates the remote state backend, so its own state starts local (see README).
  required_version = ">= 1.11.0, < 2.0.0"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "4.80.0"
    }
  }
}

provider "azurerm" {
  features {}

  # Bootstrap runs once with subscription rights and registers the resource providers the
  # platform uses; the environment roots (run by the CI identities) set this to "none".
  resource_provider_registrations = "extended"
  storage_use_azuread             = true
}
