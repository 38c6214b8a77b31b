{{/* Names and labels shared by every manifest. */}}
{{- define "attrition.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "attrition.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "attrition.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "attrition.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector of one component: api (the model), fallback (batch scores), or a job. */}}
{{- define "attrition.selectorLabels" -}}
app.kubernetes.io/name: {{ include "attrition.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "attrition.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "attrition.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The model image: digest wins over tag; a tag is required (it is the model version). */}}
{{- define "attrition.image" -}}
{{- $tag := required "image.tag is required: the model version to serve, e.g. v3-bea571367755" .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "attrition.jobImage" -}}
{{- printf "%s:%s" .Values.jobs.image.repository (required "image.tag is required" .Values.image.tag) -}}
{{- end -}}

{{/* Where the secret files are: rendered by the Vault agent, or a mounted Kubernetes Secret. */}}
{{- define "attrition.secretDir" -}}
{{- if .Values.vault.enabled -}}/vault/secrets{{- else -}}/var/run/secrets/attrition{{- end -}}
{{- end -}}

{{- define "attrition.checkSecrets" -}}
{{- if and (not .Values.vault.enabled) (not .Values.existingSecret) -}}
{{- fail "set vault.enabled=true or existingSecret: the JWT secret and the audit database URL must come from files" -}}
{{- end -}}
{{- if or (hasKey .Values.networkPolicy "egressCidrs") (hasKey .Values.networkPolicy "egressPorts") -}}
{{- fail "networkPolicy.egressCidrs/egressPorts were replaced by networkPolicy.egress.database and networkPolicy.egress.vault (one destination each, nothing open by default)" -}}
{{- end -}}
{{- end -}}

{{/*
Vault Agent injector annotations. `job` renders once and exits (pre-populate only). `secrets` lists
the files to render: jwt-secret, audit-db (the service role's URL), audit-purge-db (the purge role's).
The agent logs in with a projected token the injector mounts into its own containers only (see
attrition.vaultTokenVolume); the app containers never see a Kubernetes credential, and no process
namespace is shared (the injector's default), so the agent cannot signal or read the service.
*/}}
{{- define "attrition.vaultAnnotations" -}}
{{- $v := .root.Values.vault -}}
{{- if $v.enabled }}
vault.hashicorp.com/agent-inject: "true"
vault.hashicorp.com/role: {{ $v.role | quote }}
vault.hashicorp.com/agent-run-as-user: "10001"
vault.hashicorp.com/agent-run-as-group: "10001"
vault.hashicorp.com/agent-service-account-token-volume-name: vault-token
vault.hashicorp.com/agent-share-process-namespace: "false"
vault.hashicorp.com/agent-requests-cpu: {{ $v.agentRequestsCpu | quote }}
vault.hashicorp.com/agent-requests-mem: {{ $v.agentRequestsMem | quote }}
vault.hashicorp.com/agent-limits-cpu: {{ $v.agentLimitsCpu | quote }}
vault.hashicorp.com/agent-limits-mem: {{ $v.agentLimitsMem | quote }}
{{- if .job }}
vault.hashicorp.com/agent-pre-populate-only: "true"
{{- end }}
{{- if has "jwt-secret" .secrets }}
vault.hashicorp.com/agent-inject-secret-jwt-secret: {{ $v.jwtSecretPath | quote }}
vault.hashicorp.com/agent-inject-template-jwt-secret: |
  {{ printf "{{- with secret %q -}}{{ .Data.data.secret }}{{- end -}}" $v.jwtSecretPath }}
{{- if and (not .job) $v.reloadCommand }}
vault.hashicorp.com/agent-inject-command-jwt-secret: {{ $v.reloadCommand | quote }}
{{- end }}
{{- end }}
{{- range $file, $path := dict "audit-db" $v.auditDbCredsPath "audit-purge-db" $v.auditPurgeDbCredsPath }}
{{- if has $file $.secrets }}
vault.hashicorp.com/agent-inject-secret-{{ $file }}: {{ $path | quote }}
vault.hashicorp.com/agent-inject-template-{{ $file }}: |
  {{ printf "{{- with secret %q -}}postgresql://{{ .Data.username }}:{{ .Data.password }}@%s/%s{{- end -}}" $path $v.auditDbHost $v.auditDbName }}
{{- if and (not $.job) $v.reloadCommand }}
vault.hashicorp.com/agent-inject-command-{{ $file }}: {{ $v.reloadCommand | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
The Vault agent's login token: a short-lived, audience-bound projected token in a volume that no
app container mounts (the injector mounts it into the agent containers by the annotation above).
*/}}
{{- define "attrition.vaultTokenVolume" -}}
{{- if .Values.vault.enabled }}
- name: vault-token
  projected:
    defaultMode: 0440
    sources:
      - serviceAccountToken:
          path: token
          expirationSeconds: {{ .Values.vault.tokenExpirationSeconds }}
          {{- with .Values.vault.tokenAudience }}
          audience: {{ . | quote }}
          {{- end }}
{{- end }}
{{- end -}}

{{/* Env naming the secret files a container reads; `.secrets` as in attrition.vaultAnnotations. */}}
{{- define "attrition.secretEnv" -}}
{{- $dir := include "attrition.secretDir" .root -}}
{{- if has "jwt-secret" .secrets }}
- name: ATTRITION_JWT_SECRET_FILE
  value: {{ $dir }}/jwt-secret
{{- end }}
{{- if has "audit-db" .secrets }}
- name: ATTRITION_AUDIT_DB_FILE
  value: {{ $dir }}/audit-db
{{- end }}
{{- if has "audit-purge-db" .secrets }}
- name: ATTRITION_AUDIT_PURGE_DB_FILE
  value: {{ $dir }}/audit-purge-db
{{- end }}
{{- end -}}

{{/* Without Vault: the existing Secret's keys a pod needs (`.secrets`), mounted read-only. */}}
{{- define "attrition.secretVolume" -}}
{{- if not .root.Values.vault.enabled }}
- name: secrets
  secret:
    secretName: {{ .root.Values.existingSecret }}
    defaultMode: 0440
    items:
      {{- range .secrets }}
      - {key: {{ . }}, path: {{ . }}}
      {{- end }}
{{- end }}
{{- end -}}

{{- define "attrition.secretMount" -}}
{{- if not .Values.vault.enabled }}
- name: secrets
  mountPath: /var/run/secrets/attrition
  readOnly: true
{{- end }}
{{- end -}}

{{/* Probes of the service container. */}}
{{- define "attrition.httpProbe" -}}
httpGet:
  path: {{ .probe.path }}
  port: http
periodSeconds: {{ .probe.periodSeconds }}
failureThreshold: {{ .probe.failureThreshold }}
{{- with .probe.timeoutSeconds }}
timeoutSeconds: {{ . }}
{{- end }}
{{- end -}}

{{/* Pod annotations of the service pods: scrape hints, Vault injection, user extras (may be empty). */}}
{{- define "attrition.podAnnotations" -}}
{{- $root := .root -}}
{{- if $root.Values.metrics.podAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ $root.Values.containerPort | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- include "attrition.vaultAnnotations" (dict "root" $root "secrets" (list "jwt-secret" "audit-db") "job" false) }}
{{- with .extra }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Who the API and the fallback accept: the token algorithm, audience and issuer, and the Host headers
served (others get 400): local names, the given Service's cluster names, the Ingress host (ingress-nginx
routes to the fallback as its default backend, with the same Host) and settings.allowedHosts. Probes
and scrapes by pod IP are always served. One definition, so the fallback cannot drift from the API.
*/}}
{{- define "attrition.identityEnv" -}}
{{- $root := .root -}}
{{- $service := .service -}}
{{- $namespace := $root.Release.Namespace -}}
{{- $clusterNames := list $service (printf "%s.%s" $service $namespace) (printf "%s.%s.svc" $service $namespace) (printf "%s.%s.svc.cluster.local" $service $namespace) -}}
{{- $ingressHost := ternary (list $root.Values.ingress.host) (list) $root.Values.ingress.enabled -}}
- name: ATTRITION_JWT_ALGORITHM
  value: {{ $root.Values.settings.jwtAlgorithm | quote }}
{{- with $root.Values.settings.jwtAudience }}
- name: ATTRITION_JWT_AUDIENCE
  value: {{ . | quote }}
{{- end }}
{{- with $root.Values.settings.jwtIssuer }}
- name: ATTRITION_JWT_ISSUER
  value: {{ . | quote }}
{{- end }}
- name: ATTRITION_ALLOWED_HOSTS
  value: {{ concat (list "127.0.0.1" "localhost" "::1") $clusterNames $ingressHost $root.Values.settings.allowedHosts | compact | join "," | quote }}
{{- if and $root.Values.vault.enabled $root.Values.vault.reloadCommand }}
# The Vault agent touches this file after re-rendering a secret; a change reloads as SIGHUP would.
- name: ATTRITION_RELOAD_TRIGGER_FILE
  value: /vault/secrets/.rotated
{{- end }}
{{- end -}}
