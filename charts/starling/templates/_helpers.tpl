{{/*
Names, labels and the DNS names the components' rings use. Every component's pods are
named "<fullname>-<component>"; origins and build-index are StatefulSets whose pods get
stable DNS names through their headless Service:
  <fullname>-origin-<k>.<fullname>-origin.<namespace>.svc.<clusterDomain>
*/}}

{{- define "starling.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "starling.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* "<fullname>-<component>": pass (list . "origin"). */}}
{{- define "starling.component" -}}
{{- printf "%s-%s" (include "starling.fullname" (index . 0)) (index . 1) }}
{{- end }}

{{- define "starling.labels" -}}
{{- $root := index . 0 -}}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
{{ include "starling.selectorLabels" . }}
{{- end }}

{{- define "starling.selectorLabels" -}}
app.kubernetes.io/name: {{ include "starling.name" (index . 0) }}
app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "starling.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The cluster-local DNS suffix: "<namespace>.svc.<clusterDomain>". */}}
{{- define "starling.svcSuffix" -}}
{{- printf "%s.svc.%s" .Release.Namespace .Values.clusterDomain }}
{{- end }}

{{/* The origin ring's host strings, as a list; spelled the same in every config. */}}
{{- define "starling.originHosts" -}}
{{- $svc := include "starling.component" (list . "origin") }}
{{- $suffix := include "starling.svcSuffix" . }}
{{- $hosts := list }}
{{- range $k := until (int .Values.origin.replicas) }}
{{- $hosts = append $hosts (printf "%s-%d.%s.%s:%d" $svc $k $svc $suffix (int $.Values.origin.ports.http)) }}
{{- end }}
{{- toJson $hosts }}
{{- end }}

{{- define "starling.buildIndexHosts" -}}
{{- $svc := include "starling.component" (list . "build-index") }}
{{- $suffix := include "starling.svcSuffix" . }}
{{- $hosts := list }}
{{- range $k := until (int .Values.buildIndex.replicas) }}
{{- $hosts = append $hosts (printf "%s-%d.%s.%s:%d" $svc $k $svc $suffix (int $.Values.buildIndex.port)) }}
{{- end }}
{{- toJson $hosts }}
{{- end }}

{{- define "starling.trackerHost" -}}
{{- printf "%s.%s:%d" (include "starling.component" (list . "tracker")) (include "starling.svcSuffix" .) (int .Values.tracker.port) }}
{{- end }}

{{/* The registry host images pushed to this cluster are named after. */}}
{{- define "starling.proxyRegistry" -}}
{{- if .Values.proxy.registryHost }}
{{- .Values.proxy.registryHost }}
{{- else }}
{{- printf "%s.%s:%d" (include "starling.component" (list . "proxy")) (include "starling.svcSuffix" .) (int .Values.proxy.port) }}
{{- end }}
{{- end }}

{{/* The origin ring section every component writes. */}}
{{- define "starling.originRing" -}}
hosts: {{ include "starling.originHosts" . }}
replicas: {{ min (int .Values.origin.ringReplicas) (int .Values.origin.replicas) }}
{{- with .Values.origin.healthCheck }}
health_check: {{ toJson . }}
{{- end }}
{{- end }}

{{/* The Secret holding credentials: the chart's own or an existing one. */}}
{{- define "starling.secretName" -}}
{{- default (include "starling.component" (list . "credentials")) .Values.credentials.existingSecret }}
{{- end }}

{{/* Every release has a Secret: it holds at least the cluster token. */}}
{{- define "starling.hasSecret" -}}
true
{{- end }}

{{/* The cluster token (docs/configuration.md, "Cluster token"): clusterToken, else the
one this release's Secret already holds (kept across upgrades), else a new random one.
Included once, by secret.yaml. */}}
{{- define "starling.clusterToken" -}}
{{- if .Values.clusterToken }}
{{- .Values.clusterToken }}
{{- else }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "starling.secretName" .) }}
{{- $data := ($existing | default dict).data | default dict }}
{{- if hasKey $data "cluster-token" }}
{{- index $data "cluster-token" | b64dec }}
{{- else }}
{{- randAlphaNum 48 }}
{{- end }}
{{- end }}
{{- end }}

{{/* The auth section of origin, build-index and proxy: the token from the Secret. */}}
{{- define "starling.auth" -}}
auth:
  token_file: ${STARLING_SECRETS_DIR}/cluster-token
{{- end }}

{{/* Pod-level settings shared by every component: (list . "origin" $values). */}}
{{- define "starling.podSettings" -}}
{{- $root := index . 0 -}}
{{- $values := index . 2 -}}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets: {{ toYaml . | nindent 2 }}
{{- end }}
serviceAccountName: {{ include "starling.fullname" $root }}
automountServiceAccountToken: false
{{- with $values.nodeSelector }}
nodeSelector: {{ toYaml . | nindent 2 }}
{{- end }}
{{- with $values.tolerations }}
tolerations: {{ toYaml . | nindent 2 }}
{{- end }}
{{- with $values.affinity }}
affinity: {{ toYaml . | nindent 2 }}
{{- end }}
{{- with $values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
terminationGracePeriodSeconds: {{ $values.terminationGracePeriodSeconds | default 60 }}
{{- end }}

{{/* Container security context of the non-root components. */}}
{{- define "starling.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Env every component gets: its pod name and IP, the node's IP, the secrets dir. */}}
{{- define "starling.env" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: HOST_IP
  valueFrom:
    fieldRef:
      fieldPath: status.hostIP
- name: STARLING_SECRETS_DIR
  value: /etc/starling/secrets
- name: STARLING_LOG_FORMAT
  value: {{ .Values.logFormat | quote }}
{{- end }}

{{/* Probes on /health (liveness) and /readiness: (list $port). */}}
{{- define "starling.probes" -}}
startupProbe:
  httpGet: {path: /health, port: {{ index . 0 }}}
  periodSeconds: 2
  failureThreshold: 60
livenessProbe:
  httpGet: {path: /health, port: {{ index . 0 }}}
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 3
readinessProbe:
  httpGet: {path: /readiness, port: {{ index . 0 }}}
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 2
{{- end }}

{{/* Volumes for the config and the credentials: (list . "origin"). */}}
{{- define "starling.configVolumes" -}}
{{- $root := index . 0 -}}
- name: config
  configMap:
    name: {{ include "starling.component" . }}
{{- if include "starling.hasSecret" $root }}
- name: credentials
  secret:
    secretName: {{ include "starling.secretName" $root }}
    defaultMode: 0440
{{- end }}
- name: tmp
  emptyDir: {}
{{- end }}

{{- define "starling.configMounts" -}}
- name: config
  mountPath: /etc/starling/config
  readOnly: true
{{- if include "starling.hasSecret" . }}
- name: credentials
  mountPath: /etc/starling/secrets
  readOnly: true
{{- end }}
- name: tmp
  mountPath: /tmp
{{- end }}

{{/* The drain section: the delay, and the in-flight bound. */}}
{{- define "starling.drain" -}}
drain:
  delay: {{ .Values.drain.delay }}
  timeout: {{ .Values.drain.timeout }}
{{- end }}
