{{/*
Each component's configuration (docs/configuration.md), built from values: the chart's
own settings (ports, the rings as stable DNS names, per-pod values as ${VAR}
placeholders the binary expands from the pod's environment) with
.Values.<component>.config merged over them, so any field can be set without a chart
change. The ConfigMaps (configmaps.yaml) hold the result.
*/}}

{{- define "starling.config.origin" -}}
{{- $svc := include "starling.component" (list . "origin") }}
listen: 0.0.0.0:{{ .Values.origin.ports.http }}
advertise: ${POD_NAME}.{{ $svc }}.{{ include "starling.svcSuffix" . }}:{{ .Values.origin.ports.http }}
peer:
  listen: 0.0.0.0:{{ .Values.origin.ports.peer }}
store:
  root: /var/lib/starling/store
  high_watermark: {{ .Values.origin.store.highWatermark }}
  low_watermark: {{ .Values.origin.store.lowWatermark }}
backends: {{ toJson .Values.backends }}
cluster:
{{- include "starling.originRing" . | nindent 2 }}
{{ include "starling.auth" . }}
{{ include "starling.drain" . }}
{{- end }}

{{- define "starling.config.tracker" -}}
listen: 0.0.0.0:{{ .Values.tracker.port }}
advertise: {{ include "starling.trackerHost" . }}
trackers: [{{ include "starling.trackerHost" . }}]
trusted_networks: {{ toJson .Values.tracker.trustedNetworks }}
origins:
{{- include "starling.originRing" . | nindent 2 }}
{{ include "starling.drain" . }}
{{- end }}

{{- define "starling.config.buildIndex" -}}
{{- $svc := include "starling.component" (list . "build-index") }}
listen: 0.0.0.0:{{ .Values.buildIndex.port }}
advertise: ${POD_NAME}.{{ $svc }}.{{ include "starling.svcSuffix" . }}:{{ .Values.buildIndex.port }}
database: /var/lib/starling/tags.db
backends: {{ toJson .Values.tagBackends }}
replicas: {{ include "starling.buildIndexHosts" . }}
origins:
{{- include "starling.originRing" . | nindent 2 }}
{{ include "starling.auth" . }}
{{ include "starling.drain" . }}
{{- end }}

{{- define "starling.config.proxy" -}}
listen: 0.0.0.0:{{ .Values.proxy.port }}
build_index: {{ include "starling.buildIndexHosts" . }}
upload_dir: /var/lib/starling/uploads
{{- if .Values.proxy.auth.htpasswd }}
htpasswd: ${STARLING_SECRETS_DIR}/htpasswd
{{- end }}
origins:
{{- include "starling.originRing" . | nindent 2 }}
{{ include "starling.auth" . }}
{{ include "starling.drain" . }}
{{- end }}

{{- define "starling.config.agent" -}}
{{- $registries := list (include "starling.proxyRegistry" .) }}
{{- range .Values.agent.containerd.mirrors }}
{{- if .cluster }}{{ $registries = append $registries .name }}{{ end }}
{{- end }}
registry_listen: 127.0.0.1:{{ .Values.agent.ports.registry }}
admin_listen: 0.0.0.0:{{ .Values.agent.ports.admin }}
peer:
  listen: 0.0.0.0:{{ .Values.agent.ports.peer }}
  advertise: ${HOST_IP}:{{ .Values.agent.ports.peer }}
store:
  root: /var/lib/starling/cache
  high_watermark: {{ .Values.agent.cache.highWatermark }}
  low_watermark: {{ .Values.agent.cache.lowWatermark }}
trackers: [{{ include "starling.trackerHost" . }}]
build_index: {{ include "starling.buildIndexHosts" . }}
allowed_clients: {{ toJson .Values.agent.allowedClients }}
cluster_registries: {{ toJson $registries }}
{{- if .Values.agent.topology.zoneLabel }}
zone: ${STARLING_ZONE:-}
{{- end }}
{{- if .Values.agent.topology.rackLabel }}
rack: ${STARLING_RACK:-}
{{- end }}
{{ include "starling.drain" . }}
{{- end }}

{{/* The final YAML of a component: (list . "origin" "starling.config.origin" $overrides). */}}
{{- define "starling.config" -}}
{{- $root := index . 0 }}
{{- $base := include (index . 2) $root | fromYaml }}
{{- if hasKey $base "Error" }}
{{- fail (printf "the %s config template is not valid YAML: %s" (index . 1) (get $base "Error")) }}
{{- end }}
{{- $merged := mustMergeOverwrite $base (deepCopy (index . 3)) }}
{{- toYaml $merged }}
{{- end }}
