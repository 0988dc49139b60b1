{{/*
Names and labels shared by every template (one place, like Bitnami's common
helpers). Component templates take (list $ "name"), $ being the root context.
*/}}

{{/* The release's base name: the release name, with "-roam" unless it already says roam. */}}
{{- define "roam.fullname" -}}
{{- if contains "roam" .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-roam" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The name of one component's objects: <fullname>-<component>. */}}
{{- define "roam.component" -}}
{{- $root := index . 0 -}}
{{- printf "%s-%s" (include "roam.fullname" $root) (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "roam.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: roam
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "roam.labels" -}}
{{- $root := index . 0 -}}
{{ include "roam.selectorLabels" . }}
app.kubernetes.io/part-of: roam
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version }}
{{- end -}}

{{/* Labels on objects that belong to the whole release (Secret, ConfigMap, deny-all). */}}
{{- define "roam.commonLabels" -}}
app.kubernetes.io/name: roam
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: roam
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* A daemon's or the web app's image: [registry/]repository:tag. */}}
{{- define "roam.image" -}}
{{- $root := index . 0 -}}
{{- $repo := index . 1 -}}
{{- $tag := $root.Values.image.tag | default $root.Chart.AppVersion -}}
{{- if $root.Values.image.registry -}}
{{- printf "%s/%s:%s" (trimSuffix "/" $root.Values.image.registry) $repo $tag -}}
{{- else -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding the passwords and keys: the operator's, or the chart's. */}}
{{- define "roam.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "roam.fullname" .)) -}}
{{- end -}}

{{- define "roam.serviceAccountName" -}}
{{- include "roam.fullname" . -}}
{{- end -}}

{{/* Where the daemons find PostgreSQL, Redis and Kafka (the chart's or external). */}}
{{- define "roam.postgresHost" -}}
{{- if .Values.postgresql.enabled -}}{{ include "roam.component" (list . "postgresql") }}{{- else -}}{{ required "postgresql.external.host is required when postgresql.enabled is false" .Values.postgresql.external.host }}{{- end -}}
{{- end -}}
{{- define "roam.postgresPort" -}}
{{- if .Values.postgresql.enabled -}}{{ .Values.postgresql.port }}{{- else -}}{{ .Values.postgresql.external.port }}{{- end -}}
{{- end -}}
{{- define "roam.redisHostPort" -}}
{{- if .Values.redis.enabled -}}
{{- printf "%s:%v/0" (include "roam.component" (list . "redis")) .Values.redis.port -}}
{{- else -}}
{{- printf "%s:%v/%v" (required "redis.external.host is required when redis.enabled is false" .Values.redis.external.host) .Values.redis.external.port .Values.redis.external.db -}}
{{- end -}}
{{- end -}}
{{- define "roam.kafkaBrokers" -}}
{{- if .Values.kafka.enabled -}}
{{- printf "%s:%v" (include "roam.component" (list . "kafka")) .Values.kafka.port -}}
{{- else -}}
{{- required "kafka.external.brokers is required when kafka.enabled is false" .Values.kafka.external.brokers -}}
{{- end -}}
{{- end -}}

{{/*
The database URL. Kubernetes expands $(ROAM_DATABASE_PASSWORD) from the env
entry defined before it, so the password never appears in the manifest (it
must be URL-safe: the generated one is alphanumeric).
*/}}
{{- define "roam.databaseUrl" -}}
{{- $q := "" -}}
{{- if not .Values.postgresql.enabled -}}{{- $q = printf "?sslmode=%s" .Values.postgresql.external.sslmode -}}{{- end -}}
{{- printf "postgresql://%s:$(ROAM_DATABASE_PASSWORD)@%s:%s/%s%s" .Values.postgresql.username (include "roam.postgresHost" .) (include "roam.postgresPort" .) .Values.postgresql.database $q -}}
{{- end -}}

{{- define "roam.redisUrl" -}}
{{- if .Values.redis.auth -}}
{{- printf "redis://:$(ROAM_REDIS_PASSWORD)@%s" (include "roam.redisHostPort" .) -}}
{{- else -}}
{{- printf "redis://%s" (include "roam.redisHostPort" .) -}}
{{- end -}}
{{- end -}}

{{/* The container security context every container of the chart gets. */}}
{{- define "roam.containerSecurityContext" -}}
runAsNonRoot: true
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The pod security context: uid/gid given as (list runAsUser runAsGroup fsGroup). */}}
{{- define "roam.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ index . 0 }}
runAsGroup: {{ index . 1 }}
fsGroup: {{ index . 2 }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Env entries that pull a key of the Secret: (list $ "ENV_NAME" "key"). */}}
{{- define "roam.secretEnv" -}}
{{- $root := index . 0 -}}
- name: {{ index . 1 }}
  valueFrom:
    secretKeyRef:
      name: {{ include "roam.secretName" $root }}
      key: {{ index . 2 }}
{{- end -}}

{{/*
An egress rule to PostgreSQL, Redis or Kafka: (list $ "postgresql" .Values.postgresql).
The chart's own server is selected by its labels; an external one by its
address range and port (a NetworkPolicy cannot name a host).
*/}}
{{- define "roam.egressTo" -}}
{{- $root := index . 0 -}}
{{- $what := index . 1 -}}
{{- $v := index . 2 -}}
# To {{ $what }}.
- to:
  {{- if $v.enabled }}
    - podSelector:
        matchLabels:
          {{- include "roam.selectorLabels" (list $root $what) | nindent 10 }}
  ports:
    - {protocol: TCP, port: {{ $v.port }}}
  {{- else }}
    - ipBlock:
        cidr: {{ $v.external.cidr }}
  ports:
    - {protocol: TCP, port: {{ $v.external.port }}}
  {{- end }}
{{- end -}}

{{/*
The environment of one daemon or the web app: (list $ "name"). Used by its
Deployment and, for the daemons, by the migrations Job, so both see the same
settings.
*/}}
{{- define "roam.daemonEnv" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $svc := index $root.Values.services $name -}}
{{- if $svc.web }}
- name: PORT
  value: {{ $svc.port | quote }}
- name: HOSTNAME
  value: "0.0.0.0"
- name: NEXT_TELEMETRY_DISABLED
  value: "1"
{{- else }}
- name: ROAM_HTTP_PORT
  value: {{ $svc.port | quote }}
{{- include "roam.secretEnv" (list $root "ROAM_INTERNAL_SECRET" "internal-secret") | nindent 0 }}
{{- end }}
{{- if $svc.uses.db }}
{{- include "roam.secretEnv" (list $root "ROAM_DATABASE_PASSWORD" "database-password") | nindent 0 }}
- name: ROAM_DATABASE_URL
  value: {{ include "roam.databaseUrl" $root | quote }}
{{- end }}
{{- if $svc.uses.redis }}
{{- if $root.Values.redis.auth }}
{{- include "roam.secretEnv" (list $root "ROAM_REDIS_PASSWORD" "redis-password") | nindent 0 }}
{{- end }}
- name: ROAM_REDIS_URL
  value: {{ include "roam.redisUrl" $root | quote }}
{{- end }}
{{- range $callee := $svc.calls }}
{{- if not (hasKey $root.Values.services $callee) }}
{{- fail (printf "services.%s.calls names %q, which is not a block of services" $name $callee) }}
{{- end }}
{{- $target := index $root.Values.services $callee }}
{{- if not $target.enabled }}
{{- fail (printf "services.%s.calls %q, which is disabled" $name $callee) }}
{{- end }}
- name: ROAM_{{ upper $callee }}_URL
  value: {{ printf "http://%s:%v" (include "roam.component" (list $root $callee)) $target.port | quote }}
{{- end }}
{{- if eq $name "auth" }}
- name: ROAM_JWT_PRIVATE_KEY_FILE
  value: /etc/roam/jwt/signing-key.pem
{{- if $root.Values.secrets.previousJwks }}
- name: ROAM_JWT_PREVIOUS_JWKS_FILE
  value: /etc/roam/jwt/previous-jwks.json
{{- end }}
{{- if $root.Values.admin.email }}
- name: ROAM_ADMIN_EMAIL
  value: {{ $root.Values.admin.email | quote }}
{{- include "roam.secretEnv" (list $root "ROAM_ADMIN_PASSWORD" "admin-password") | nindent 0 }}
{{- end }}
{{- end }}
{{- if $svc.smtp }}
{{- include "roam.secretEnv" (list $root "ROAM_SMTP_URL" "smtp-url") | nindent 0 }}
{{- end }}
{{- range $key, $value := $svc.env }}
- name: {{ $key }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* The ConfigMap's settings (the migrations Job gets the same as plain env entries). */}}
{{- define "roam.configData" -}}
ROAM_HTTP_ADDR: "0.0.0.0"
ROAM_LOG_LEVEL: {{ .Values.config.logLevel | quote }}
ROAM_ACCESS_LOG: {{ .Values.config.accessLog | quote }}
ROAM_JWT_ISSUER: {{ .Values.config.jwtIssuer | quote }}
ROAM_JWT_AUDIENCE: {{ .Values.config.jwtAudience | quote }}
ROAM_SHUTDOWN_TIMEOUT_MS: {{ .Values.config.shutdownTimeoutMs | quote }}
ROAM_KAFKA_BROKERS: {{ include "roam.kafkaBrokers" . | quote }}
ROAM_SMTP_FROM: {{ .Values.smtp.from | quote }}
{{- end -}}
