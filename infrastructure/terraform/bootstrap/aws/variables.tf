variable "region" {
  type        = string
  description = "AWS region for the state bucket and the CI roles' regional permissions."
  default     = "eu-west-1"
}

variable "name" {
  type        = string
  description = "Name prefix for every bootstrap resource (also the prefix the CI apply role may manage)."
  default     = "mlplatform"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name must be 3-31 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "github_repository" {
  type        = string
  description = "GitHub repository allowed to assume the CI roles, as owner/name."

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must look like owner/name (no wildcards)."
  }
}

variable "github_environment" {
  type        = string
  description = "GitHub Actions environment whose jobs may assume the apply role (protect it with required reviewers)."
  default     = "dev"
}

variable "create_github_oidc_provider" {
  type        = bool
  description = "Create the GitHub Actions OIDC identity provider (false when the account already has one)."
  default     = true
}

variable "state_noncurrent_version_days" {
  type        = number
  description = "Days to keep non-current versions of state objects before they expire."
  default     = 90
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
