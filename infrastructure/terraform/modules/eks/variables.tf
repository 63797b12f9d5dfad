################################################################################
# General
################################################################################

variable "name" {
  type        = string
  description = "Cluster name; also the prefix of every resource this module creates."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name must be 3-31 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "region" {
  type        = string
  description = "AWS region (used for availability zones and the Karpenter/LBC settings)."
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}

################################################################################
# Network
################################################################################

variable "vpc_cidr" {
  type        = string
  description = "CIDR of the VPC; split into public, private and database subnets over three AZs."
  default     = "10.10.0.0/16"
}

variable "availability_zone_suffixes" {
  type        = list(string)
  description = "The three availability zones (region name + suffix) the VPC and node groups span."
  default     = ["a", "b", "c"]

  validation {
    condition     = length(var.availability_zone_suffixes) == 3
    error_message = "Give exactly three availability zone suffixes."
  }
}

variable "single_nat_gateway" {
  type        = bool
  description = "One shared NAT gateway (dev, cheaper) instead of one per AZ."
  default     = true
}

variable "flow_log_aggregation_interval" {
  type        = number
  description = "VPC flow log aggregation interval in seconds (60 or 600)."
  default     = 60

  validation {
    condition     = contains([60, 600], var.flow_log_aggregation_interval)
    error_message = "flow_log_aggregation_interval must be 60 or 600."
  }
}

variable "flow_log_retention_days" {
  type        = number
  description = "Days CloudWatch keeps VPC flow logs."
  default     = 30
}

################################################################################
# Cluster
################################################################################

variable "kubernetes_version" {
  type        = string
  description = "EKS Kubernetes version."
  default     = "1.36"
}

variable "endpoint_public_access_cidrs" {
  type        = list(string)
  description = "CIDRs allowed to reach the public API endpoint (restrict to your office/VPN and CI egress)."
  default     = ["0.0.0.0/0"]
}

variable "cluster_admin_role_arns" {
  type        = list(string)
  description = "IAM roles given cluster-admin through EKS access entries (e.g. the CI apply role). Non-empty turns the cluster creator's own entry off, so include the role that applies."
  default     = []

  validation {
    condition     = length(distinct(var.cluster_admin_role_arns)) == length(var.cluster_admin_role_arns)
    error_message = "cluster_admin_role_arns lists a role twice; EKS allows one access entry per principal."
  }

  validation {
    condition     = alltrue([for arn in var.cluster_admin_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", arn))])
    error_message = "cluster_admin_role_arns takes IAM role ARNs (arn:aws:iam::<account>:role/<name>), not assumed-role session ARNs (arn:aws:sts::...)."
  }
}

variable "general_node_group" {
  type = object({
    instance_types = list(string)
    min_size       = number
    max_size       = number
    desired_size   = number
  })
  description = "On-demand node group for system and platform services."
  default = {
    instance_types = ["t3.large"]
    min_size       = 2
    max_size       = 4
    desired_size   = 2
  }
}

variable "training_node_group" {
  type = object({
    instance_types = list(string)
    max_size       = number
  })
  description = "Spot node group for training (scales from zero, tainted workload=training:NoSchedule)."
  default = {
    instance_types = ["c5.2xlarge"]
    max_size       = 5
  }
}

variable "gpu_node_group" {
  type = object({
    instance_types = list(string)
    max_size       = number
  })
  description = "Spot GPU node group (scales from zero, tainted nvidia.com/gpu=true:NoSchedule)."
  default = {
    instance_types = ["g4dn.xlarge"]
    max_size       = 2
  }
}

################################################################################
# Data services
################################################################################

variable "database" {
  type = object({
    engine_version          = string
    family                  = string
    major_engine_version    = string
    instance_class          = string
    allocated_storage       = number
    max_allocated_storage   = number
    multi_az                = bool
    backup_retention_period = number
    deletion_protection     = bool
  })
  description = "RDS PostgreSQL settings for the MLflow backend store."
  default = {
    engine_version          = "17"
    family                  = "postgres17"
    major_engine_version    = "17"
    instance_class          = "db.t4g.small"
    allocated_storage       = 20
    max_allocated_storage   = 100
    multi_az                = false
    backup_retention_period = 7
    deletion_protection     = true
  }
}

variable "artifact_bucket_force_destroy" {
  type        = bool
  description = "Allow terraform destroy to delete the artifact bucket with its objects (dev convenience)."
  default     = false
}

variable "ecr_repositories" {
  type        = list(string)
  description = "ECR repositories to create (under <name>/) for pipeline and serving images."
  default     = ["pipelines", "serving"]
}

variable "backup" {
  type = object({
    daily_retention_days  = number
    weekly_retention_days = number
  })
  description = "AWS Backup retention of the daily and weekly plans (RDS and the artifact bucket)."
  default = {
    daily_retention_days  = 35
    weekly_retention_days = 90
  }
}

################################################################################
# Workload identity
################################################################################

variable "serving_namespace" {
  type        = string
  description = "Namespace of the InferenceServices whose storage initializer reads models."
  default     = "kserve"
}

variable "platform_secret_version" {
  type        = number
  description = "Version of the generated platform admin secret; increase it to rotate the password."
  default     = 1
}
