{{/* Names, labels and the RBAC rules shared by the templates. */}}

{{- define "crosslink.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "crosslink.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "crosslink.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "crosslink.selectorLabels" -}}
app.kubernetes.io/name: {{ include "crosslink.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "crosslink.labels" -}}
helm.sh/chart: {{ include "crosslink.chart" . }}
{{ include "crosslink.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: controller
app.kubernetes.io/part-of: crosslink
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "crosslink.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "crosslink.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "crosslink.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
crosslink.rules: every API call the controller makes on stacks and their
ConfigMaps, and nothing else. The ONE place to change when the controller's
needs change (deploy/rbac/role.yaml must match; tests/packaging/test_helm.sh
compares both with tests/packaging/expected-rules.json).
Granted cluster-wide (ClusterRole) or per watched namespace (Role).
*/}}
{{- define "crosslink.rules" -}}
- apiGroups: ["crosslink.dev"]
  resources: ["observabilitystacks"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["crosslink.dev"]
  resources: ["observabilitystacks/status"]
  verbs: ["get", "patch", "update"]
# blockOwnerDeletion on the ConfigMaps' ownerReferences needs update on
# finalizers (OwnerReferencesPermissionEnforcement admission).
- apiGroups: ["crosslink.dev"]
  resources: ["observabilitystacks/finalizers"]
  verbs: ["update"]
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
# Probe credentials: read one named Secret at a time; never list or watch.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/* crosslink.leaseRules: leader election, in the release namespace only. */}}
{{- define "crosslink.leaseRules" -}}
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  verbs: ["get", "create", "update"]
{{- end }}
