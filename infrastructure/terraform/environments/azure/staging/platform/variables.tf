variable "location" {
  type        = string
  description = "Azure region of the staging environment."
  default     = "westeurope"
}

variable "state_resource_group_name" {
  type        = string
  description = "Resource group of the state storage account (bootstrap/azure backend_config)."
  default     = "mlplatform-tfstate"
}

variable "state_storage_account_name" {
  type        = string
  description = "State storage account (bootstrap/azure backend_config), to read the cluster root's outputs."
}

variable "kubelogin_mode" {
  type        = string
  description = "kubelogin login mode: azurecli on a workstation, workloadidentity in GitHub Actions."
  default     = "azurecli"
}

variable "domain" {
  type        = string
  description = "DNS domain served by the platform Gateway."
  default     = "staging.mlplatform.example.com"
}

variable "acme_email" {
  type        = string
  description = "Let's Encrypt contact address."
  default     = "platform-team@example.com"
}

variable "enable_minio" {
  type        = bool
  description = "Install the optional dev-only MinIO."
  default     = false
}
