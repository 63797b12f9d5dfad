################################################################################
# General
################################################################################

variable "name" {
  type        = string
  description = "Cluster name; also the prefix of every resource this module creates."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,20}$", var.name))
    error_message = "name must be 3-21 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "resource_group_name" {
  type        = string
  description = "Existing resource group to deploy into (bootstrap/azure creates it and scopes CI to it)."
}

variable "location" {
  type        = string
  description = "Azure region."
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}

################################################################################
# Network
################################################################################

variable "vnet_cidr" {
  type        = string
  description = "Address space of the VNet; split into the AKS and PostgreSQL subnets."
  default     = "10.20.0.0/16"
}

variable "create_network_watcher" {
  type        = bool
  description = "Create the region's Network Watcher here; false uses the existing NetworkWatcher_<location> in NetworkWatcherRG."
  default     = true
}

variable "flow_log_retention_days" {
  type        = number
  description = "Days VNet flow logs are kept in the storage account (Traffic Analytics keeps its own copy in Log Analytics)."
  default     = 90
}

variable "traffic_analytics_interval" {
  type        = number
  description = "Traffic Analytics processing interval in minutes (10 or 60)."
  default     = 10

  validation {
    condition     = contains([10, 60], var.traffic_analytics_interval)
    error_message = "traffic_analytics_interval must be 10 or 60."
  }
}

################################################################################
# Cluster
################################################################################

variable "kubernetes_version" {
  type        = string
  description = "AKS Kubernetes version (null = the region's default; patch upgrades are automatic)."
  default     = null
}

variable "sku_tier" {
  type        = string
  description = "AKS control plane tier: Free for dev, Standard (uptime SLA) for production."
  default     = "Free"
}

variable "api_server_authorized_ip_ranges" {
  type        = list(string)
  description = "CIDRs allowed to reach the API server (restrict to your office/VPN and CI egress)."
  default     = ["0.0.0.0/0"]
}

variable "admin_group_object_ids" {
  type        = list(string)
  description = "Entra groups with cluster-admin (Azure RBAC for Kubernetes)."
  default     = []
}

variable "cluster_admin_principal_ids" {
  type        = list(string)
  description = "Principals (e.g. the CI apply identity) given Azure Kubernetes Service RBAC Cluster Admin."
  default     = []
}

variable "host_encryption_enabled" {
  type        = bool
  description = "Encrypt node temp disks and caches at the host (needs the EncryptionAtHost feature registered)."
  default     = true
}

variable "system_node_pool" {
  type = object({
    vm_size   = string
    min_count = number
    max_count = number
  })
  description = "System node pool (critical add-ons only)."
  default = {
    vm_size   = "Standard_D4s_v3"
    min_count = 2
    max_count = 4
  }
}

variable "platform_node_pool" {
  type = object({
    vm_size   = string
    min_count = number
    max_count = number
  })
  description = "Untainted on-demand pool for the platform's services (the system pool takes critical add-ons only)."
  default = {
    vm_size   = "Standard_D4s_v5"
    min_count = 1
    max_count = 4
  }

  validation {
    condition     = var.platform_node_pool.min_count >= 1 && var.platform_node_pool.max_count >= var.platform_node_pool.min_count
    error_message = "platform_node_pool needs min_count >= 1 (the platform's services run there all the time) and max_count >= min_count."
  }
}

variable "training_node_pool" {
  type = object({
    vm_size   = string
    max_count = number
  })
  description = "Spot training pool (scales from zero, tainted workload=training:NoSchedule)."
  default = {
    vm_size   = "Standard_D8s_v3"
    max_count = 5
  }
}

variable "gpu_node_pool" {
  type = object({
    vm_size   = string
    max_count = number
  })
  description = "Spot GPU pool (scales from zero, tainted nvidia.com/gpu=true:NoSchedule). NC6s_v3 was retired on 2025-09-30 (ADR 0006); the default is its T4 successor."
  default = {
    vm_size   = "Standard_NC4as_T4_v3"
    max_count = 2
  }

  validation {
    condition     = !contains(["Standard_NC6s_v3", "Standard_NC12s_v3", "Standard_NC24s_v3"], var.gpu_node_pool.vm_size)
    error_message = "NCv3 sizes were retired on 2025-09-30; use Standard_NC4as_T4_v3 or an NCads A10/H100 size."
  }
}

variable "gpu_a10_node_pool" {
  type = object({
    vm_size   = string
    max_count = number
  })
  description = "Spot 24 GB GPU pool for 7B LLMs (scales from zero, tainted nvidia.com/gpu=true:NoSchedule). The default is the NVadsA10 v5 size with a whole A10; the smaller sizes of that series get a slice of its memory."
  default = {
    vm_size   = "Standard_NV36ads_A10_v5"
    max_count = 2
  }

  validation {
    condition     = !contains(["Standard_NV6ads_A10_v5", "Standard_NV12ads_A10_v5", "Standard_NV18ads_A10_v5"], var.gpu_a10_node_pool.vm_size)
    error_message = "Standard_NV6/12/18ads_A10_v5 give 1/6, 1/3 or 1/2 of an A10 (4-12 GB): a 7B model does not fit; use Standard_NV36ads_A10_v5 (a whole 24 GB A10)."
  }
}

################################################################################
# Data services
################################################################################

variable "postgresql" {
  type = object({
    version               = string
    sku_name              = string
    storage_mb            = number
    backup_retention_days = number
    geo_redundant_backup  = bool
  })
  description = "PostgreSQL Flexible Server settings for the MLflow backend store."
  default = {
    version               = "17"
    sku_name              = "B_Standard_B1ms"
    storage_mb            = 32768
    backup_retention_days = 7
    geo_redundant_backup  = false
  }
}

variable "secret_rotation_days" {
  type        = number
  description = "Days after which the generated database password is rotated (next apply after expiry)."
  default     = 180
}

variable "storage_replication_type" {
  type        = string
  description = "Replication of the artifact and flow-log storage accounts (GRS keeps a copy in the paired region)."
  default     = "GRS"
}

################################################################################
# Workload identity
################################################################################

variable "serving_namespace" {
  type        = string
  description = "Namespace of the InferenceServices whose storage initializer reads models."
  default     = "kserve"
}

variable "key_vault_allowed_ip_ranges" {
  type        = list(string)
  description = "Public CIDRs allowed through the Key Vault firewall (the machine or CI runner egress that runs Terraform)."
  default     = []
}

variable "acr_sku" {
  type        = string
  description = "ACR tier: Standard for dev; Premium adds private endpoints, geo-replication and quarantine."
  default     = "Standard"
}

variable "blob_backup_retention" {
  type        = string
  description = "ISO 8601 duration of operational blob backups of the artifact container."
  default     = "P30D"
}
