{{/*
Chart name, truncated to the 63 characters of a DNS label.
*/}}
{{- define "flux.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: <release> when it already contains the chart name, else <release>-<chart>.
Truncated so that "<fullname>-reducer-headless" still fits 63 characters.
*/}}
{{- define "flux.fullname" -}}
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

{{- define "flux.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Names of the components' objects.
*/}}
{{- define "flux.reducer.fullname" -}}
{{- printf "%s-reducer" (include "flux.fullname" .) }}
{{- end }}

{{- define "flux.reducer.headlessServiceName" -}}
{{- printf "%s-reducer-headless" (include "flux.fullname" .) }}
{{- end }}

{{- define "flux.ingestGateway.fullname" -}}
{{- printf "%s-ingest-gateway" (include "flux.fullname" .) }}
{{- end }}

{{- define "flux.queryGateway.fullname" -}}
{{- printf "%s-query-gateway" (include "flux.fullname" .) }}
{{- end }}

{{- define "flux.configMapName" -}}
{{- printf "%s-config" (include "flux.fullname" .) }}
{{- end }}

{{- define "flux.secretName" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret }}
{{- else }}
{{- printf "%s-secrets" (include "flux.fullname" .) }}
{{- end }}
{{- end }}

{{- define "flux.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "flux.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Labels. Call the component variants with (dict "ctx" $ "component" "reducer").
*/}}
{{- define "flux.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flux.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "flux.labels" -}}
helm.sh/chart: {{ include "flux.chart" . }}
{{ include "flux.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: flux
{{- end }}

{{- define "flux.componentSelectorLabels" -}}
{{ include "flux.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "flux.componentLabels" -}}
{{ include "flux.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "flux.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}

{{/*
"true" with elastic reducer assignment (reducer.assignment), else empty: reducers share the
partitions at run time and gateways route by the partition map in Redis, so no process gets
SHARD_INDEX, SHARD_COUNT or FLUX_SHARD_ADDRESSES.
*/}}
{{- define "flux.elastic" -}}
{{- if eq (toString .Values.reducer.assignment) "elastic" }}true{{ end }}
{{- end }}

{{/*
FLUX_SHARD_ADDRESSES (static assignment): the reducer pods' stable DNS names in shard order (index = shard),
  <fullname>-reducer-<i>.<fullname>-reducer-headless.<namespace>.svc.<clusterDomain>:<grpcPort>
*/}}
{{- define "flux.shardAddresses" -}}
{{- $statefulSet := include "flux.reducer.fullname" . }}
{{- $service := include "flux.reducer.headlessServiceName" . }}
{{- $addresses := list }}
{{- range $shard := until (int .Values.reducer.shards) }}
{{- $addresses = append $addresses (printf "%s-%d.%s.%s.svc.%s:%d" $statefulSet $shard $service $.Release.Namespace $.Values.clusterDomain (int $.Values.reducer.grpcPort)) }}
{{- end }}
{{- join "," $addresses }}
{{- end }}

{{/*
FLUX_INGEST_URL: the ingest gateway Service, for the query gateways' forwarded write routes.
*/}}
{{- define "flux.ingestUrl" -}}
{{- printf "http://%s.%s.svc.%s:%d" (include "flux.ingestGateway.fullname" .) .Release.Namespace .Values.clusterDomain (int .Values.ingestGateway.service.port) }}
{{- end }}

{{/*
Checks that stop a bad install at render time instead of as crash-looping pods.
*/}}
{{- define "flux.validate" -}}
{{- if not (has (toString .Values.reducer.assignment) (list "elastic" "static")) }}
{{- fail (printf "reducer.assignment must be elastic or static, got %v" .Values.reducer.assignment) }}
{{- end }}
{{- with .Values.reducer.autoscaling }}
{{- if .enabled }}
{{- if not (include "flux.elastic" $) }}
{{- fail "reducer.autoscaling needs reducer.assignment: elastic (static shards own fixed partitions and cannot be resized by an autoscaler)" }}
{{- end }}
{{- if gt (int .minReplicas) (int .maxReplicas) }}
{{- fail (printf "reducer.autoscaling.minReplicas (%v) must not exceed maxReplicas (%v)" .minReplicas .maxReplicas) }}
{{- end }}
{{- end }}
{{- end }}
{{- $shards := int .Values.reducer.shards }}
{{- if or (lt $shards 1) (gt $shards 1024) }}
{{- fail (printf "reducer.shards must be from 1 to 1024, got %v" .Values.reducer.shards) }}
{{- end }}
{{- $partitions := int .Values.config.partitions }}
{{- if or (lt $partitions 1) (gt $partitions 1024) }}
{{- fail (printf "config.partitions must be from 1 to 1024, got %v" .Values.config.partitions) }}
{{- end }}
{{- if not .Values.kafka.brokers }}
{{- fail "kafka.brokers is required (host:port[,host:port...] of an existing Kafka)" }}
{{- end }}
{{- if and (not .Values.redis.url) (not .Values.redis.existingSecret) }}
{{- fail "redis.url (or redis.existingSecret) is required (redis:// URL of an existing Redis)" }}
{{- end }}
{{- $drainSeconds := div (add (int64 .Values.config.shutdownTimeoutMs) 999) 1000 }}
{{- range $role := list "reducer" "ingestGateway" "queryGateway" }}
{{- $values := index $.Values $role }}
{{- $needed := add $drainSeconds (int64 ($values.preStopSleepSeconds | default 0)) }}
{{- if lt (int64 $values.terminationGracePeriodSeconds) $needed }}
{{- fail (printf "%s.terminationGracePeriodSeconds (%v) must cover config.shutdownTimeoutMs plus the preStop sleep: at least %d" $role $values.terminationGracePeriodSeconds $needed) }}
{{- end }}
{{- end }}
{{- with .Values.kafka.sasl.mechanism }}
{{- if not (has . (list "plain" "scram-sha-256" "scram-sha-512" "oauthbearer")) }}
{{- fail (printf "kafka.sasl.mechanism must be plain, scram-sha-256, scram-sha-512 or oauthbearer, got %s" .) }}
{{- end }}
{{- if eq . "oauthbearer" }}
{{- if not $.Values.kafka.sasl.oauthbearerTokenFile }}
{{- fail "kafka.sasl.mechanism oauthbearer needs kafka.sasl.oauthbearerTokenFile" }}
{{- end }}
{{- else if or (not $.Values.kafka.sasl.username) (not $.Values.kafka.sasl.existingSecret) }}
{{- fail "kafka.sasl needs username and existingSecret (the Secret holding the password)" }}
{{- end }}
{{- end }}
{{- if eq (int .Values.reducer.metricsPort) (int .Values.reducer.grpcPort) }}
{{- fail (printf "reducer.metricsPort must differ from reducer.grpcPort (%v)" .Values.reducer.grpcPort) }}
{{- end }}
{{- if gt (int64 .Values.config.http.headersTimeoutMs) (int64 .Values.config.http.requestTimeoutMs) }}
{{- fail (printf "config.http.headersTimeoutMs (%v) must not exceed config.http.requestTimeoutMs (%v)" .Values.config.http.headersTimeoutMs .Values.config.http.requestTimeoutMs) }}
{{- end }}
{{- with .Values.secrets.encryptionKey }}
{{- if or (not (regexMatch "^[A-Za-z0-9+/]+={0,2}$" .)) (ne (len (b64dec .)) 32) }}
{{- fail "secrets.encryptionKey must be the base64 encoding of exactly 32 bytes (openssl rand -base64 32)" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Pod annotations that roll the pods when the ConfigMap (all pods) or the chart's Secret
(gateways, the only ones that read it) changes.
*/}}
{{- define "flux.configChecksum" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- end }}

{{/*
prometheus.io annotations of a pod that serves GET /metrics on `port` (metrics.podAnnotations).
Call with (dict "ctx" $ "port" <port>).
*/}}
{{- define "flux.prometheusAnnotations" -}}
{{- if .ctx.Values.metrics.podAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ int .port | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- end }}

{{- define "flux.secretsChecksum" -}}
{{- if not .Values.secrets.existingSecret }}
checksum/secrets: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- end }}

{{/*
Environment every process gets besides the ConfigMap: REDIS_URL, the Kafka SASL password and
the Redis password from Secrets when configured.
*/}}
{{- define "flux.commonEnv" -}}
{{- with .Values.kafka.sasl.existingSecret }}
- name: FLUX_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.kafka.sasl.passwordKey }}
{{- end }}
{{- with .Values.redis.passwordSecret }}
- name: FLUX_REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.redis.passwordKey }}
{{- end }}
{{- with .Values.redis.sentinel.passwordSecret }}
- name: FLUX_REDIS_SENTINEL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.redis.sentinel.passwordKey }}
{{- end }}
{{- if .Values.redis.existingSecret }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.existingSecret }}
      key: {{ .Values.redis.existingSecretKey }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
FLUX_ADMIN_TOKEN and FLUX_ENCRYPTION_KEY (gateways only); optional, so a missing key leaves
the variable unset.
*/}}
{{- define "flux.secretEnv" -}}
- name: FLUX_ADMIN_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "flux.secretName" . }}
      key: {{ .Values.secrets.adminTokenKey }}
      optional: true
- name: FLUX_ENCRYPTION_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "flux.secretName" . }}
      key: {{ .Values.secrets.encryptionKeyKey }}
      optional: true
{{- end }}

{{/*
Scheduling fields of a component's pod spec. Call with
(dict "ctx" $ "values" .Values.<component> "component" "<component>"). Without constraints of its
own, a component gets the chart's topologySpread ones, over its own pods.
*/}}
{{- define "flux.scheduling" -}}
{{- with .values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml .values.topologySpreadConstraints | nindent 2 }}
{{- else if .ctx.Values.topologySpread.enabled }}
{{- $spread := .ctx.Values.topologySpread }}
{{- $selector := include "flux.componentSelectorLabels" (dict "ctx" .ctx "component" .component) }}
topologySpreadConstraints:
  {{- range $topologyKey := $spread.topologyKeys }}
  - maxSkew: {{ int $spread.maxSkew }}
    topologyKey: {{ $topologyKey }}
    whenUnsatisfiable: {{ $spread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- $selector | nindent 8 }}
  {{- end }}
{{- end }}
{{- end }}

{{/*
A HorizontalPodAutoscaler (autoscaling/v2) on CPU, and memory when set. Call with
(dict "ctx" $ "component" "<component>" "name" <workload name> "kind" "Deployment" "autoscaling" <values>).
*/}}
{{- define "flux.hpa" -}}
{{- $autoscaling := .autoscaling }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ .name }}
  labels:
    {{- include "flux.componentLabels" (dict "ctx" .ctx "component" .component) | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: {{ .kind }}
    name: {{ .name }}
  minReplicas: {{ int $autoscaling.minReplicas }}
  maxReplicas: {{ int $autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ int $autoscaling.targetCPUUtilizationPercentage }}
    {{- with $autoscaling.targetMemoryUtilizationPercentage }}
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: {{ int . }}
    {{- end }}
  {{- with $autoscaling.behavior }}
  behavior:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{/*
NetworkPolicy egress every process needs: Kafka, Redis and DNS.
*/}}
{{- define "flux.networkPolicy.commonEgress" -}}
{{- $np := .Values.networkPolicy }}
{{- range $service := list "kafka" "redis" }}
{{- $target := index $np $service }}
- ports:
    {{- range $target.ports }}
    - port: {{ int . }}
      protocol: TCP
    {{- end }}
  {{- with $target.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- if $np.dns }}
- ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- end }}
{{- end }}

{{/*
The Secrets with the CA and client certificates for Kafka and Redis (kafka.tls.existingSecret,
redis.tls.existingSecret), mounted read-only where the FLUX_*_TLS_*_FILE variables point.
*/}}
{{- define "flux.commonVolumes" -}}
{{- if .Values.kafka.tls.existingSecret }}
- name: kafka-tls
  secret:
    secretName: {{ .Values.kafka.tls.existingSecret }}
{{- end }}
{{- if .Values.redis.tls.existingSecret }}
- name: redis-tls
  secret:
    secretName: {{ .Values.redis.tls.existingSecret }}
{{- end }}
{{- end }}

{{- define "flux.commonVolumeMounts" -}}
{{- if .Values.kafka.tls.existingSecret }}
- name: kafka-tls
  mountPath: /etc/flux/kafka-tls
  readOnly: true
{{- end }}
{{- if .Values.redis.tls.existingSecret }}
- name: redis-tls
  mountPath: /etc/flux/redis-tls
  readOnly: true
{{- end }}
{{- end }}

{{/*
FLUX_<service>_TLS_*_FILE entries of the ConfigMap for a Secret mounted at /etc/flux/<dir>.
Call with (dict "tls" <values> "prefix" "FLUX_KAFKA_TLS" "dir" "kafka-tls").
*/}}
{{- define "flux.tlsFileEnv" -}}
{{- if .tls.existingSecret }}
{{- with .tls.caKey }}
{{ $.prefix }}_CA_FILE: {{ printf "/etc/flux/%s/%s" $.dir . | quote }}
{{- end }}
{{- if and .tls.certKey .tls.keyKey }}
{{ .prefix }}_CERT_FILE: {{ printf "/etc/flux/%s/%s" .dir .tls.certKey | quote }}
{{ .prefix }}_KEY_FILE: {{ printf "/etc/flux/%s/%s" .dir .tls.keyKey | quote }}
{{- end }}
{{- end }}
{{- end }}
