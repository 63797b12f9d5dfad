# Installs the platform's Helm releases on an existing cluster. Every chart's repository,
# name, version and namespace come from helm/versions.yaml (the one place charts are
# pinned); values are helm/common/<release>.yaml, then helm/<cloud>/<release>.yaml (the
# cloud delta), then the values this module generates from the cluster's outputs.
# Releases install in waves so CRDs exist before anything uses them.

locals {
  helm_dir = abspath("${path.module}/../../../helm")
  catalog  = yamldecode(file("${local.helm_dir}/versions.yaml")).charts

  # A release is wanted on this cloud, not disabled, and (when optional) asked for.
  wanted = {
    for name, chart in local.catalog : name => (
      contains(chart.clouds, var.cloud) && !contains(var.disabled_releases, name) && (!try(chart.optional, false) || (var.enable_minio && name == "minio"))
    )
  }
  enabled = { for name, chart in local.catalog : name => chart if local.wanted[name] }

  values_files = {
    for name, _ in local.enabled : name => [
      for layer in ["common", var.cloud] : "${local.helm_dir}/${layer}/${name}.yaml"
      if fileexists("${local.helm_dir}/${layer}/${name}.yaml")
    ]
  }

  releases = {
    for name, chart in local.enabled : name => {
      repository = chart.repository
      chart      = chart.chart
      version    = chart.version
      namespace  = chart.namespace
      values     = concat([for path in local.values_files[name] : file(path)], [yamlencode(try(local.generated_values[name], {}))])
    }
  }

  waves = { for wave in [0, 1, 2, 3] : wave => { for name, release in local.releases : name => release if local.enabled[name].wave == wave } }
}

module "wave_0" {
  source = "./_release"

  releases        = local.waves[0]
  local_chart_dir = "${local.helm_dir}/charts"
  timeout         = var.release_timeout
}

module "wave_1" {
  source = "./_release"

  releases        = local.waves[1]
  local_chart_dir = "${local.helm_dir}/charts"
  timeout         = var.release_timeout

  depends_on = [module.wave_0]
}

module "wave_2" {
  source = "./_release"

  releases        = local.waves[2]
  local_chart_dir = "${local.helm_dir}/charts"
  timeout         = var.release_timeout

  depends_on = [module.wave_1]
}

module "wave_3" {
  source = "./_release"

  releases        = local.waves[3]
  local_chart_dir = "${local.helm_dir}/charts"
  timeout         = var.release_timeout

  depends_on = [module.wave_2]
}
