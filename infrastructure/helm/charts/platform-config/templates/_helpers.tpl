{{/* Common labels of every object this chart renders. */}}
{{- define "platform-config.labels" -}}
app.kubernetes.io/name: platform-config
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mlplatform
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
