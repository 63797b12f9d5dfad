variable "subscription_id" {
  type        = string
  description = "Azure subscription (null: taken from ARM_SUBSCRIPTION_ID)."
  default     = null
}

variable "location" {
  type        = string
  description = "Azure region of the staging environment."
  default     = "westeurope"
}

variable "project" {
  type        = string
  description = "Project name, prefix of every resource."
  default     = "mlplatform"
}

variable "environment" {
  type        = string
  description = "Environment name, part of every resource name."
  default     = "staging"
}

variable "resource_group_name" {
  type        = string
  description = "Resource group created by bootstrap/azure (platform_resource_group_name)."
  default     = "mlplatform-staging"
}

variable "api_server_authorized_ip_ranges" {
  type        = list(string)
  description = "CIDRs allowed to reach the Kubernetes API (set to your office/VPN and CI egress)."
  default     = ["0.0.0.0/0"]
}

variable "key_vault_allowed_ip_ranges" {
  type        = list(string)
  description = "Public CIDRs of whoever runs Terraform (Key Vault firewall)."
  default     = []
}

variable "admin_group_object_ids" {
  type        = list(string)
  description = "Entra groups with cluster-admin."
  default     = []
}

variable "cluster_admin_principal_ids" {
  type        = list(string)
  description = "Principals with cluster-admin, typically bootstrap/azure ci_principal_ids.apply."
  default     = []
}

variable "tags" {
  type        = map(string)
  description = "Extra tags for every resource."
  default     = {}
}
