################################################################################
# General
################################################################################

variable "project_id" {
  type        = string
  description = "Google Cloud project of the platform."
}

variable "name" {
  type        = string
  description = "Cluster name; also the prefix of every resource this module creates."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,20}$", var.name))
    error_message = "name must be 3-21 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "region" {
  type        = string
  description = "Region of the regional cluster, subnet, Cloud SQL and buckets."
}

variable "labels" {
  type        = map(string)
  description = "Labels added to every resource that takes them."
  default     = {}
}

################################################################################
# Network
################################################################################

variable "subnet_cidr" {
  type        = string
  description = "Primary range of the cluster subnet (nodes)."
  default     = "10.30.0.0/20"
}

variable "pods_cidr" {
  type        = string
  description = "Secondary range for pods."
  default     = "10.32.0.0/14"
}

variable "services_cidr" {
  type        = string
  description = "Secondary range for services."
  default     = "10.36.0.0/20"
}

variable "master_cidr" {
  type        = string
  description = "/28 range of the private control plane."
  default     = "172.16.0.0/28"
}

variable "flow_logs" {
  type = object({
    interval = string
    sampling = number
    metadata = string
  })
  description = "Subnet flow log settings."
  default = {
    interval = "INTERVAL_5_SEC"
    sampling = 0.5
    metadata = "INCLUDE_ALL_METADATA"
  }
}

################################################################################
# Cluster
################################################################################

variable "node_service_account" {
  type        = string
  description = "Email of the nodes' service account (bootstrap/gcp gke_node_service_account)."
}

variable "release_channel" {
  type        = string
  description = "GKE release channel."
  default     = "REGULAR"
}

variable "master_authorized_networks" {
  type        = list(object({ cidr_block = string, display_name = string }))
  description = "CIDRs allowed to reach the control plane endpoint (your office/VPN and CI egress)."
  default     = [{ cidr_block = "0.0.0.0/0", display_name = "anywhere (restrict for production)" }]
}

variable "deletion_protection" {
  type        = bool
  description = "Protect the cluster and the database from terraform destroy."
  default     = true
}

variable "general_node_pool" {
  type = object({
    machine_type = string
    min_count    = number
    max_count    = number
  })
  description = "On-demand node pool for system and platform services (counts are per zone of the regional cluster)."
  default = {
    machine_type = "e2-standard-2"
    min_count    = 1
    max_count    = 2
  }
}

variable "training_node_pool" {
  type = object({
    machine_type = string
    max_count    = number
  })
  description = "Spot training pool (scales from zero, tainted workload=training:NoSchedule)."
  default = {
    machine_type = "c2-standard-8"
    max_count    = 5
  }
}

variable "gpu_node_pool" {
  type = object({
    machine_type     = string
    accelerator_type = string
    max_count        = number
  })
  description = "Spot GPU pool (scales from zero, tainted nvidia.com/gpu=true:NoSchedule)."
  default = {
    machine_type     = "n1-standard-4"
    accelerator_type = "nvidia-tesla-t4"
    max_count        = 2
  }
}

variable "gpu_l4_node_pool" {
  type = object({
    machine_type     = string
    accelerator_type = string
    max_count        = number
  })
  description = "Spot 24 GB GPU pool for 7B LLMs (scales from zero, tainted nvidia.com/gpu=true:NoSchedule). G2 machine types come with their L4s attached."
  default = {
    machine_type     = "g2-standard-8"
    accelerator_type = "nvidia-l4"
    max_count        = 2
  }

  validation {
    condition     = startswith(var.gpu_l4_node_pool.machine_type, "g2-") && var.gpu_l4_node_pool.accelerator_type == "nvidia-l4"
    error_message = "The L4 pool needs a G2 machine type (g2-standard-*) with accelerator_type nvidia-l4."
  }
}

variable "node_auto_provisioning" {
  type = object({
    max_cpu_cores = number
    max_memory_gb = number
    gpu_limits    = list(object({ resource_type = string, maximum = number }))
  })
  description = "Node auto-provisioning limits, GPUs included."
  default = {
    max_cpu_cores = 64
    max_memory_gb = 256
    gpu_limits    = [{ resource_type = "nvidia-tesla-t4", maximum = 4 }, { resource_type = "nvidia-l4", maximum = 4 }]
  }
}

################################################################################
# Data services
################################################################################

variable "database" {
  type = object({
    version             = string
    tier                = string
    disk_size_gb        = number
    availability_type   = string
    retained_backups    = number
    pitr_retention_days = number
  })
  description = "Cloud SQL for PostgreSQL settings for the MLflow backend store."
  default = {
    version             = "POSTGRES_17"
    tier                = "db-custom-1-3840"
    disk_size_gb        = 10
    availability_type   = "ZONAL"
    retained_backups    = 7
    pitr_retention_days = 7
  }
}

variable "artifact_bucket_force_destroy" {
  type        = bool
  description = "Allow terraform destroy to delete the artifact bucket with its objects (dev convenience)."
  default     = false
}

variable "secret_version" {
  type        = number
  description = "Version of the secrets written to Secret Manager (database and Grafana passwords); increase it to rotate them."
  default     = 1
}

################################################################################
# Workload identity
################################################################################

variable "serving_namespace" {
  type        = string
  description = "Namespace of the InferenceServices whose storage initializer reads models."
  default     = "kserve"
}
