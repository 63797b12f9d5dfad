variable "cloud" {
  type        = string
  description = "Cloud the cluster runs on; selects releases (versions.yaml clouds) and helm/<cloud>/ values."

  validation {
    condition     = contains(["aws", "azure", "gcp"], var.cloud)
    error_message = "cloud must be aws, azure or gcp."
  }
}

variable "cluster_name" {
  type        = string
  description = "Kubernetes cluster name (labels, Karpenter and load balancer controller settings)."
}

variable "region" {
  type        = string
  description = "Cloud region of the cluster."
}

variable "domain" {
  type        = string
  description = "DNS domain the platform's Gateway serves (mlflow.<domain>, argocd.<domain>, *.models.<domain>)."
}

variable "acme_email" {
  type        = string
  description = "Contact address for Let's Encrypt certificates issued by cert-manager."
}

variable "service_account_annotations" {
  type        = map(map(string))
  description = "Service account annotations per release, e.g. IRSA role ARNs or Azure workload identity client IDs."
  default     = {}
}

variable "artifact_store" {
  type = object({
    scheme    = string
    bucket    = string
    account   = optional(string)
    container = optional(string)
  })
  description = "Object store for MLflow and Argo Workflows artifacts: scheme s3, gs or wasbs, bucket (or Azure container) and Azure account."
}

variable "database" {
  type = object({
    host     = string
    port     = number
    name     = string
    username = string
  })
  description = "MLflow backend database (the password is remote_secrets[\"database-password\"])."
}

variable "remote_secrets" {
  type = map(object({
    key      = string
    property = optional(string)
  }))
  description = "Where the cloud secret store keeps database-password and grafana-admin-password (External Secrets remoteRef)."

  validation {
    condition     = alltrue([for name in ["database-password", "grafana-admin-password"] : contains(keys(var.remote_secrets), name)])
    error_message = "remote_secrets needs database-password and grafana-admin-password."
  }
}

variable "secret_store_provider" {
  type        = any
  description = "External Secrets ClusterSecretStore spec.provider for the cloud's secret store."
}

variable "karpenter" {
  type = object({
    node_role_name     = string
    interruption_queue = string
    cluster_endpoint   = string
  })
  description = "Karpenter settings on EKS (null elsewhere)."
  default     = null
}

variable "aws_vpc_id" {
  type        = string
  description = "VPC of the cluster, for the AWS Load Balancer Controller (EKS only)."
  default     = null
}

variable "enable_minio" {
  type        = bool
  description = "Install the optional MinIO chart as a dev-only object store."
  default     = false
}

variable "disabled_releases" {
  type        = set(string)
  description = "Releases from helm/versions.yaml to skip (e.g. chaos-mesh in a shared cluster)."
  default     = []
}

variable "release_timeout" {
  type        = number
  description = "Seconds each release may take to become ready."
  default     = 900
}
