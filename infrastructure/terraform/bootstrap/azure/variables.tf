variable "location" {
  type        = string
  description = "Azure region of the state storage account and the CI identities."
  default     = "westeurope"
}

variable "name" {
  type        = string
  description = "Name prefix for every bootstrap resource."
  default     = "mlplatform"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{2,11}$", var.name))
    error_message = "name must be 3-12 lowercase letters or digits (it becomes part of a storage account name)."
  }
}

variable "platform_resource_group_name" {
  type        = string
  description = "Resource group the environment roots deploy into; the apply identity is scoped to it."
  default     = "mlplatform-dev"
}

variable "github_repository" {
  type        = string
  description = "GitHub repository allowed to use the CI identities, as owner/name."

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must look like owner/name (no wildcards)."
  }
}

variable "github_environment" {
  type        = string
  description = "GitHub Actions environment whose jobs may use the apply identity."
  default     = "dev"
}

variable "state_replication_type" {
  type        = string
  description = "Replication of the state storage account (GRS keeps a copy in the paired region)."
  default     = "GRS"
}

variable "state_retention_days" {
  type        = number
  description = "Days deleted state blobs and containers stay recoverable (soft delete)."
  default     = 30
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
