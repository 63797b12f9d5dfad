variable "project_id" {
  type        = string
  description = "Google Cloud project of the prod environment."
}

variable "node_service_account" {
  type        = string
  description = "GKE node service account from bootstrap/gcp (gke_node_service_account)."
}

variable "region" {
  type        = string
  description = "Region of the prod environment."
  default     = "europe-west1"
}

variable "project" {
  type        = string
  description = "Project name, prefix of every resource."
  default     = "mlplatform"
}

variable "environment" {
  type        = string
  description = "Environment name, part of every resource name."
  default     = "prod"
}

variable "master_authorized_networks" {
  type        = list(object({ cidr_block = string, display_name = string }))
  description = "CIDRs allowed to reach the control plane (set to your office/VPN and CI egress)."
  default     = [{ cidr_block = "0.0.0.0/0", display_name = "anywhere (restrict for production)" }]
}

variable "labels" {
  type        = map(string)
  description = "Extra labels for every resource."
  default     = {}
}
