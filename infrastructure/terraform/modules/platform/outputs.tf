output "releases" {
  description = "Installed releases: chart, version and namespace, by name."
  value = merge(
    module.wave_0.releases,
    module.wave_1.releases,
    module.wave_2.releases,
    module.wave_3.releases,
  )
}

output "endpoints" {
  description = "Hostnames the platform Gateway serves."
  value = {
    mlflow         = "mlflow.${var.domain}"
    argocd         = "argocd.${var.domain}"
    grafana        = "grafana.${var.domain}"
    argo_workflows = "argo.${var.domain}"
    models         = "*.models.${var.domain}"
  }
}
