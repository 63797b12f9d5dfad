variable "region" {
  type        = string
  description = "AWS region of the prod environment."
  default     = "eu-west-1"
}

variable "project" {
  type        = string
  description = "Project name; must match bootstrap/aws name so the CI apply role may manage the resources."
  default     = "mlplatform"
}

variable "environment" {
  type        = string
  description = "Environment name, part of every resource name."
  default     = "prod"
}

variable "endpoint_public_access_cidrs" {
  type        = list(string)
  description = "CIDRs allowed to reach the Kubernetes API (set to your office/VPN and CI egress)."
  default     = ["0.0.0.0/0"]
}

variable "cluster_admin_role_arns" {
  type        = list(string)
  description = "IAM roles with cluster-admin, typically bootstrap/aws ci_apply_role_arn; when set, the creator gets no entry of its own, so list the role that applies."
  default     = []
}

variable "tags" {
  type        = map(string)
  description = "Extra tags for every resource."
  default     = {}
}
