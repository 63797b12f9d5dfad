variable "project_id" {
  type        = string
  description = "Google Cloud project that holds the state bucket and the platform."
}

variable "region" {
  type        = string
  description = "Region of the state bucket and its KMS key."
  default     = "europe-west1"
}

variable "name" {
  type        = string
  description = "Name prefix for every bootstrap resource."
  default     = "mlplatform"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,20}$", var.name))
    error_message = "name must be 3-21 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "github_repository" {
  type        = string
  description = "GitHub repository allowed to impersonate the CI service accounts, as owner/name."

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must look like owner/name (no wildcards)."
  }
}

variable "github_repository_id" {
  type        = string
  description = "Numeric GitHub repository ID; when set the provider matches the immutable ID instead of the name."
  default     = ""
}

variable "github_environment" {
  type        = string
  description = "GitHub Actions environment whose jobs may impersonate the apply service account."
  default     = "dev"
}

variable "state_versions_kept" {
  type        = number
  description = "Non-current versions of each state object kept before older ones are deleted."
  default     = 20
}
