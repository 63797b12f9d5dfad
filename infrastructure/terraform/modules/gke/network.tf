################################################################################
# VPC and subnet with flow logs (5 s interval, 0.5 sampling, all metadata), secondary
# ranges for pods and services, Cloud NAT for the private nodes, and private services
# access for Cloud SQL.
################################################################################

module "network" {
  source  = "terraform-google-modules/network/google"
  version = "18.3.0"

  project_id   = var.project_id
  network_name = var.name
  routing_mode = "REGIONAL"

  subnets = [
    {
      subnet_name               = "${var.name}-nodes"
      subnet_ip                 = var.subnet_cidr
      subnet_region             = var.region
      subnet_private_access     = "true"
      subnet_flow_logs          = "true"
      subnet_flow_logs_interval = var.flow_logs.interval
      subnet_flow_logs_sampling = var.flow_logs.sampling
      subnet_flow_logs_metadata = var.flow_logs.metadata
    },
  ]

  secondary_ranges = {
    "${var.name}-nodes" = [
      { range_name = "pods", ip_cidr_range = var.pods_cidr },
      { range_name = "services", ip_cidr_range = var.services_cidr },
    ]
  }

  depends_on = [google_project_service.this]
}

resource "google_compute_router" "this" {
  name    = "${var.name}-router"
  project = var.project_id
  region  = var.region
  network = module.network.network_self_link
}

resource "google_compute_router_nat" "this" {
  name                               = "${var.name}-nat"
  project                            = var.project_id
  region                             = var.region
  router                             = google_compute_router.this.name
  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "ALL_SUBNETWORKS_ALL_IP_RANGES"

  log_config {
    enable = true
    filter = "ERRORS_ONLY"
  }
}

resource "google_compute_global_address" "private_services" {
  name          = "${var.name}-private-services"
  project       = var.project_id
  purpose       = "VPC_PEERING"
  address_type  = "INTERNAL"
  prefix_length = 20
  network       = module.network.network_self_link
}

resource "google_service_networking_connection" "this" {
  network                 = module.network.network_self_link
  service                 = "servicenetworking.googleapis.com"
  reserved_peering_ranges = [google_compute_global_address.private_services.name]
}
