output "releases" {
  description = "Installed releases of this wave: chart, version and namespace."
  value = {
    for name, release in helm_release.this : name => {
      chart     = release.chart
      version   = release.version
      namespace = release.namespace
    }
  }
}
