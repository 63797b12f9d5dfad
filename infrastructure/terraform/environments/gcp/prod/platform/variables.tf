variable "region" {
  type        = string
  description = "Region of the prod environment."
  default     = "europe-west1"
}

variable "state_bucket" {
  type        = string
  description = "State bucket from bootstrap/gcp, to read the cluster root's outputs."
}

variable "domain" {
  type        = string
  description = "DNS domain served by the platform Gateway."
  default     = "prod.mlplatform.example.com"
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
