################################################################################
# Private regional GKE (Dataplane V2, Gateway API, Shielded nodes, KMS-encrypted Secrets)
# with Workload Identity Federation and node auto-provisioning that can add GPU nodes.
# Nodes run as the least-privilege service account bootstrap/gcp creates. Node pools:
#   general   e2-standard-2 on-demand (one per zone), platform services
#   training  c2-standard-8 spot, 0-n, taint workload=training:NoSchedule
#   gpu       n1-standard-4 + T4 spot, 0-n, taint nvidia.com/gpu=true:NoSchedule (16 GB: small
#             models such as TinyLlama)
#   gpu-l4    g2-standard-8 + L4 spot, 0-n, the same taint (24 GB: 7B LLMs; the region needs
#             L4 capacity: mlplatform.llm.gpus names both pools and picks one per model)
################################################################################

locals {
  node_pool_defaults = {
    disk_type          = "pd-balanced"
    disk_size_gb       = 100
    image_type         = "COS_CONTAINERD"
    auto_repair        = true
    auto_upgrade       = true
    enable_secure_boot = true
    location_policy    = "ANY"
  }

  node_pools = [
    merge(local.node_pool_defaults, {
      name         = "general"
      machine_type = var.general_node_pool.machine_type
      disk_size_gb = 50
      min_count    = var.general_node_pool.min_count
      max_count    = var.general_node_pool.max_count
      spot         = false
    }),
    merge(local.node_pool_defaults, {
      name               = "training"
      machine_type       = var.training_node_pool.machine_type
      min_count          = 0
      max_count          = var.training_node_pool.max_count
      initial_node_count = 0
      spot               = true
    }),
    merge(local.node_pool_defaults, {
      name               = "gpu"
      machine_type       = var.gpu_node_pool.machine_type
      accelerator_type   = var.gpu_node_pool.accelerator_type
      accelerator_count  = 1
      gpu_driver_version = "LATEST"
      min_count          = 0
      max_count          = var.gpu_node_pool.max_count
      initial_node_count = 0
      spot               = true
    }),
    merge(local.node_pool_defaults, {
      name               = "gpu-l4"
      machine_type       = var.gpu_l4_node_pool.machine_type
      accelerator_type   = var.gpu_l4_node_pool.accelerator_type
      accelerator_count  = 1
      gpu_driver_version = "LATEST"
      min_count          = 0
      max_count          = var.gpu_l4_node_pool.max_count
      initial_node_count = 0
      spot               = true
    }),
  ]
}

module "gke" {
  source  = "terraform-google-modules/kubernetes-engine/google//modules/private-cluster"
  version = "44.3.0"

  project_id = var.project_id
  name       = var.name
  region     = var.region
  regional   = true

  network           = module.network.network_name
  subnetwork        = module.network.subnets_names[0]
  ip_range_pods     = "pods"
  ip_range_services = "services"

  release_channel    = var.release_channel
  kubernetes_version = "latest"

  enable_private_nodes       = true
  enable_private_endpoint    = false
  master_ipv4_cidr_block     = var.master_cidr
  master_authorized_networks = var.master_authorized_networks

  deletion_protection      = var.deletion_protection
  remove_default_node_pool = true

  identity_namespace = local.workload_pool
  node_metadata      = "GKE_METADATA"

  datapath_provider     = "ADVANCED_DATAPATH"
  network_policy        = false
  gateway_api_channel   = "CHANNEL_STANDARD"
  enable_shielded_nodes = true
  gcs_fuse_csi_driver   = true

  database_encryption = [{
    state    = "ENCRYPTED"
    key_name = google_kms_crypto_key.this["gke-secrets"].id
  }]

  create_service_account = false
  service_account        = var.node_service_account

  cluster_autoscaling = {
    enabled                     = true
    autoscaling_profile         = "OPTIMIZE_UTILIZATION"
    min_cpu_cores               = 0
    max_cpu_cores               = var.node_auto_provisioning.max_cpu_cores
    min_memory_gb               = 0
    max_memory_gb               = var.node_auto_provisioning.max_memory_gb
    gpu_resources               = [for limit in var.node_auto_provisioning.gpu_limits : { resource_type = limit.resource_type, minimum = 0, maximum = limit.maximum }]
    auto_repair                 = true
    auto_upgrade                = true
    disk_size                   = 100
    disk_type                   = "pd-balanced"
    image_type                  = "COS_CONTAINERD"
    enable_secure_boot          = true
    enable_integrity_monitoring = true
  }

  node_pools = local.node_pools

  node_pools_labels = {
    all      = local.labels
    general  = { workload = "general" }
    training = { workload = "training" }
    gpu      = { workload = "gpu" }
    "gpu-l4" = { workload = "gpu" }
  }

  node_pools_taints = {
    all      = []
    general  = []
    training = [{ key = "workload", value = "training", effect = "NO_SCHEDULE" }]
    gpu      = [{ key = "nvidia.com/gpu", value = "true", effect = "NO_SCHEDULE" }]
    "gpu-l4" = [{ key = "nvidia.com/gpu", value = "true", effect = "NO_SCHEDULE" }]
  }

  cluster_resource_labels = local.labels
  enable_cost_allocation  = true

  depends_on = [google_kms_crypto_key_iam_member.this]
}
