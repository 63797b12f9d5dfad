variable "releases" {
  type = map(object({
    repository = string
    chart      = string
    version    = string
    namespace  = string
    values     = list(string)
  }))
  description = "Releases to install, keyed by release name; repository \"\" means a local chart in local_chart_dir."
}

variable "local_chart_dir" {
  type        = string
  description = "Directory holding the platform's local charts."
}

variable "timeout" {
  type        = number
  description = "Seconds each release may take to become ready."
}
