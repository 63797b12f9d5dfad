# One wave of Helm releases (internal to modules/platform). Repository, chart, version and
# namespace are passed through unchanged from helm/versions.yaml.

resource "helm_release" "this" {
  for_each = var.releases

  name             = each.key
  repository       = each.value.repository == "" ? null : each.value.repository
  chart            = each.value.repository == "" ? "${var.local_chart_dir}/${each.value.chart}" : each.value.chart
  version          = each.value.version
  namespace        = each.value.namespace
  create_namespace = true
  values           = each.value.values

  wait            = true
  timeout         = var.timeout
  cleanup_on_fail = true
  max_history     = 5
}
