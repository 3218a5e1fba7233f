{{/* Names and labels shared by every object. */}}

{{- define "telemetry-stack.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "telemetry-stack.fullname" -}}
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

{{- define "telemetry-stack.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "telemetry-stack.labels" -}}
helm.sh/chart: {{ include "telemetry-stack.chart" . }}
app.kubernetes.io/name: {{ include "telemetry-stack.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: telemetry-stack
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "api"). */}}
{{- define "telemetry-stack.selectorLabels" -}}
app.kubernetes.io/name: {{ include "telemetry-stack.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "telemetry-stack.componentLabels" -}}
{{ include "telemetry-stack.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "telemetry-stack.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "telemetry-stack.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* ServiceAccount of the remediation actions (Kubernetes node quarantine/drain/release). */}}
{{- define "telemetry-stack.remediationServiceAccountName" -}}
{{- default (printf "%s-remediation" (include "telemetry-stack.fullname" .)) .Values.remediation.serviceAccount.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Cluster-scoped names carry the namespace: one release name may be installed in several namespaces. */}}
{{- define "telemetry-stack.remediationClusterRoleName" -}}
{{- printf "%s-%s-remediation" (include "telemetry-stack.fullname" .) .Release.Namespace | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "telemetry-stack.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "telemetry-stack.secretName" -}}
{{- required "existingSecret is required: create a Secret with INFLUXDB_TOKEN and API_KEYS (see infra/helm/README.md); the chart never ships secret values" .Values.existingSecret -}}
{{- end -}}

{{- define "telemetry-stack.partitions" -}}
{{- $p := int (required "config.PARTITIONS_PER_TOPIC is required" .Values.config.PARTITIONS_PER_TOPIC) -}}
{{- if lt $p 1 -}}{{- fail "config.PARTITIONS_PER_TOPIC must be ≥ 1" -}}{{- end -}}
{{- $p -}}
{{- end -}}

{{- define "telemetry-stack.workerMetricsPort" -}}
{{- int (default "0" .Values.config.WORKER_METRICS_PORT) -}}
{{- end -}}

{{/*
Pod template shared by the three Deployments.
Input: (dict "root" $ "component" "api" "values" .Values.api "ports" list "extra" yaml: extra container fields)
*/}}
{{- define "telemetry-stack.podTemplate" -}}
{{- $root := .root -}}
{{- $v := .values -}}
metadata:
  labels:
    {{- include "telemetry-stack.componentLabels" (dict "root" $root "component" .component) | nindent 4 }}
  annotations:
    # Roll pods when configuration or alerting files change.
    checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
spec:
  {{- /* Only the components that run the remediation activities get the ServiceAccount the remediation ClusterRole is bound to, with its token mounted; the others keep the token-less one. */}}
  {{- if and $root.Values.remediation.enabled (has .component $root.Values.remediation.components) }}
  serviceAccountName: {{ include "telemetry-stack.remediationServiceAccountName" $root }}
  automountServiceAccountToken: true
  {{- else }}
  serviceAccountName: {{ include "telemetry-stack.serviceAccountName" $root }}
  automountServiceAccountToken: {{ $root.Values.serviceAccount.automountToken }}
  {{- end }}
  {{- with $root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
  enableServiceLinks: false
  securityContext:
    {{- toYaml $root.Values.podSecurityContext | nindent 4 }}
  containers:
    - name: {{ .component }}
      image: {{ include "telemetry-stack.image" $root | quote }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      command:
        {{- toYaml $v.command | nindent 8 }}
      securityContext:
        {{- toYaml $root.Values.containerSecurityContext | nindent 8 }}
      envFrom:
        - configMapRef:
            name: {{ include "telemetry-stack.fullname" $root }}-env
      env:
        - name: ALERT_RULES_FILE
          value: {{ printf "%s/alert-rules.json" $root.Values.alerting.mountPath | quote }}
        - name: ESCALATION_POLICY_FILE
          value: {{ printf "%s/escalation-policy.json" $root.Values.alerting.mountPath | quote }}
        {{- if $root.Values.alerting.oncallSchedules }}
        - name: ONCALL_SCHEDULES_FILE
          value: {{ printf "%s/oncall-schedules.json" $root.Values.alerting.mountPath | quote }}
        {{- end }}
        {{- $secretName := include "telemetry-stack.secretName" $root }}
        {{- range $envName, $s := $root.Values.secretEnv }}
        {{- if has $.component $s.components }}
        - name: {{ $envName }}
          valueFrom:
            secretKeyRef:
              name: {{ $secretName }}
              key: {{ $s.key }}
              optional: {{ $s.optional }}
        {{- end }}
        {{- end }}
        {{- with $root.Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with .ports }}
      ports:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .extra }}
      {{- . | nindent 6 }}
      {{- end }}
      resources:
        {{- toYaml $v.resources | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
        - name: data
          mountPath: /data
        - name: alerting
          mountPath: {{ $root.Values.alerting.mountPath }}
          readOnly: true
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: {{ $root.Values.scratch.tmpSizeLimit }}
    - name: data
      emptyDir:
        sizeLimit: {{ $root.Values.scratch.dataSizeLimit }}
    - name: alerting
      configMap:
        name: {{ include "telemetry-stack.fullname" $root }}-alerting
  {{- with $v.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/* Exec liveness probe for a worker whose /metrics listens on 127.0.0.1 only. */}}
{{- define "telemetry-stack.workerLiveness" -}}
{{- $p := .probe -}}
{{- if and $p.enabled (gt (int .port) 0) -}}
livenessProbe:
  exec:
    command:
      - node
      - -e
      - {{ printf "fetch('http://127.0.0.1:%d/metrics').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" (int .port) | quote }}
  initialDelaySeconds: {{ $p.initialDelaySeconds }}
  periodSeconds: {{ $p.periodSeconds }}
  timeoutSeconds: {{ $p.timeoutSeconds }}
  failureThreshold: {{ $p.failureThreshold }}
{{- end -}}
{{- end -}}
