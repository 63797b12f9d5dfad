################################################################################
# AKS: OIDC issuer + Workload Identity, KEDA as the managed add-on (so the platform does
# not install the KEDA chart on AKS), Azure RBAC with local accounts disabled, Azure CNI
# overlay with Cilium, Container Insights. Node pools:
#   system    Standard_D4s_v3, 2-4, critical add-ons only (taint CriticalAddonsOnly)
#   platform  Standard_D4s_v5 on-demand, 1-4, untainted: MLflow, Argo CD, Prometheus, KServe...
#   training  Standard_D8s_v3 spot, 0-n, taint workload=training:NoSchedule
#   gpu       Standard_NC4as_T4_v3 spot, 0-n, taint nvidia.com/gpu=true:NoSchedule (16 GB T4:
#             small models such as TinyLlama)
#   gpua10    Standard_NV36ads_A10_v5 spot, 0-n, the same taint (a whole 24 GB A10: 7B LLMs;
#             mlplatform.llm.gpus names both pools and picks one per model)
################################################################################

resource "azurerm_user_assigned_identity" "control_plane" {
  name                = "${var.name}-control-plane"
  resource_group_name = data.azurerm_resource_group.this.name
  location            = var.location
  tags                = local.tags
}

# Bring-your-own subnet: the control plane identity manages the node subnet's IPs.
resource "azurerm_role_assignment" "control_plane_network" {
  scope                = azurerm_subnet.aks.id
  role_definition_name = "Network Contributor"
  principal_id         = azurerm_user_assigned_identity.control_plane.principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_kubernetes_cluster" "this" {
  name                = var.name
  resource_group_name = data.azurerm_resource_group.this.name
  location            = var.location
  dns_prefix          = var.name
  kubernetes_version  = var.kubernetes_version
  sku_tier            = var.sku_tier
  node_resource_group = "${var.name}-nodes"
  tags                = local.tags

  oidc_issuer_enabled       = true
  workload_identity_enabled = true

  local_account_disabled            = true
  role_based_access_control_enabled = true
  azure_policy_enabled              = true
  automatic_upgrade_channel         = "patch"
  node_os_upgrade_channel           = "NodeImage"
  image_cleaner_enabled             = true
  image_cleaner_interval_hours      = 48

  azure_active_directory_role_based_access_control {
    azure_rbac_enabled     = true
    tenant_id              = data.azurerm_client_config.current.tenant_id
    admin_group_object_ids = var.admin_group_object_ids
  }

  api_server_access_profile {
    authorized_ip_ranges = var.api_server_authorized_ip_ranges
  }

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.control_plane.id]
  }

  default_node_pool {
    name                         = "system"
    vm_size                      = var.system_node_pool.vm_size
    auto_scaling_enabled         = true
    min_count                    = var.system_node_pool.min_count
    max_count                    = var.system_node_pool.max_count
    only_critical_addons_enabled = true
    vnet_subnet_id               = azurerm_subnet.aks.id
    zones                        = ["1", "2", "3"]
    max_pods                     = 110
    os_disk_type                 = "Ephemeral"
    os_disk_size_gb              = 64
    host_encryption_enabled      = var.host_encryption_enabled
    temporary_name_for_rotation  = "systemtmp"

    upgrade_settings {
      max_surge = "33%"
    }
  }

  network_profile {
    network_plugin      = "azure"
    network_plugin_mode = "overlay"
    network_data_plane  = "cilium"
    network_policy      = "cilium"
    load_balancer_sku   = "standard"
    outbound_type       = "loadBalancer"
    pod_cidr            = "192.168.0.0/16"
    service_cidr        = "172.16.0.0/16"
    dns_service_ip      = "172.16.0.10"
  }

  workload_autoscaler_profile {
    keda_enabled = true
  }

  oms_agent {
    log_analytics_workspace_id      = azurerm_log_analytics_workspace.this.id
    msi_auth_for_monitoring_enabled = true
  }

  key_vault_secrets_provider {
    secret_rotation_enabled = true
  }

  maintenance_window_auto_upgrade {
    frequency   = "Weekly"
    interval    = 1
    duration    = 4
    day_of_week = "Sunday"
    start_time  = "02:00"
    utc_offset  = "+00:00"
  }

  depends_on = [azurerm_role_assignment.control_plane_network]

  lifecycle {
    ignore_changes = [default_node_pool[0].node_count, kubernetes_version]
  }
}

locals {
  # Spot pools: AKS adds the scalesetpriority taint itself; it is listed so plans stay clean.
  spot_taint = "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"

  user_node_pools = {
    training = {
      vm_size   = var.training_node_pool.vm_size
      max_count = var.training_node_pool.max_count
      labels    = { workload = "training" }
      taints    = ["workload=training:NoSchedule", local.spot_taint]
    }
    gpu = {
      vm_size   = var.gpu_node_pool.vm_size
      max_count = var.gpu_node_pool.max_count
      labels    = { workload = "gpu", "nvidia.com/gpu.present" = "true" }
      taints    = ["nvidia.com/gpu=true:NoSchedule", local.spot_taint]
    }
    gpua10 = {
      vm_size   = var.gpu_a10_node_pool.vm_size
      max_count = var.gpu_a10_node_pool.max_count
      labels    = { workload = "gpu", "nvidia.com/gpu.present" = "true" }
      taints    = ["nvidia.com/gpu=true:NoSchedule", local.spot_taint]
    }
  }
}

# The system pool takes only critical add-ons and the other pools are tainted, so the
# platform's services need a pool of their own that tolerates nothing: on-demand, zonal,
# autoscaling, labelled workload=general like the general pools on EKS and GKE.
resource "azurerm_kubernetes_cluster_node_pool" "platform" {
  name                    = "platform"
  kubernetes_cluster_id   = azurerm_kubernetes_cluster.this.id
  vm_size                 = var.platform_node_pool.vm_size
  mode                    = "User"
  priority                = "Regular"
  auto_scaling_enabled    = true
  min_count               = var.platform_node_pool.min_count
  max_count               = var.platform_node_pool.max_count
  node_count              = var.platform_node_pool.min_count
  vnet_subnet_id          = azurerm_subnet.aks.id
  zones                   = ["1", "2", "3"]
  max_pods                = 110
  os_disk_type            = "Ephemeral"
  os_disk_size_gb         = 64
  host_encryption_enabled = var.host_encryption_enabled
  node_labels             = { workload = "general" }
  tags                    = local.tags

  upgrade_settings {
    max_surge = "33%"
  }

  lifecycle {
    ignore_changes = [node_count]
  }
}

resource "azurerm_kubernetes_cluster_node_pool" "this" {
  for_each = local.user_node_pools

  name                    = each.key
  kubernetes_cluster_id   = azurerm_kubernetes_cluster.this.id
  vm_size                 = each.value.vm_size
  mode                    = "User"
  priority                = "Spot"
  eviction_policy         = "Delete"
  spot_max_price          = -1
  auto_scaling_enabled    = true
  min_count               = 0
  max_count               = each.value.max_count
  node_count              = 0
  vnet_subnet_id          = azurerm_subnet.aks.id
  max_pods                = 110
  os_disk_type            = "Managed"
  host_encryption_enabled = var.host_encryption_enabled
  node_labels             = each.value.labels
  node_taints             = each.value.taints
  tags                    = local.tags

  lifecycle {
    ignore_changes = [node_count]
  }
}

resource "azurerm_role_assignment" "cluster_admin" {
  for_each = toset(var.cluster_admin_principal_ids)

  scope                = azurerm_kubernetes_cluster.this.id
  role_definition_name = "Azure Kubernetes Service RBAC Cluster Admin"
  principal_id         = each.value
  principal_type       = "ServicePrincipal"
}
