output "releases" {
  description = "Installed Helm releases."
  value       = module.platform.releases
}

output "endpoints" {
  description = "Hostnames served by the platform Gateway (point DNS at its load balancer)."
  value       = module.platform.endpoints
}
