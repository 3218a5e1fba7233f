#!/usr/bin/env bash
# Builds kube-apiserver and etcd from the Go module proxy into a cache outside
# the repo, for the tests that need a real Kubernetes API (infra/stack/kube.ts):
# the chart applied with server-side dry-run, its RBAC, and the remediation
# actions (cordon, taints, Eviction API). No registry ships Kubernetes binaries.
#
# `go install` refuses k8s.io/kubernetes (its go.mod replaces the staging
# modules with ./staging), so a throw-away module requires it and replaces each
# staging module with its published v0.<minor>.<patch> twin. etcd gets a module
# of its own: its gRPC is newer than the apiserver's.
# Cold: kube-apiserver ~6 min, etcd ~1 min on 2 cores. Cached: exits at once.
# Prints the two binary paths on stdout (apiserver first).
set -euo pipefail
KUBE_VERSION="${KUBE_APISERVER_VERSION:-1.34.4}"
ETCD_VERSION="${ETCD_VERSION:-3.6.4}"
C="${TELEMETRY_CACHE_DIR:-$HOME/.cache/telemetry-stack}"
BIN="$C/bin"
APISERVER="$BIN/kube-apiserver"
ETCD="$BIN/etcd"
if [[ -x "$APISERVER" && -x "$ETCD" ]]; then echo "$APISERVER"; echo "$ETCD"; exit 0; fi
command -v go >/dev/null || { echo "build-kube: go is needed to build kube-apiserver/etcd" >&2; exit 1; }
mkdir -p "$BIN" "$C/src"
# One build at a time (CI, a test run and prepare-servers may overlap); the
# second caller waits, then finds the binaries and exits.
exec 9>"$C/.build-kube.lock"
flock 9
if [[ -x "$APISERVER" && -x "$ETCD" ]]; then echo "$APISERVER"; echo "$ETCD"; exit 0; fi
# GOTOOLCHAIN=local: a `toolchain` line must never try to download another Go.
# -mod=mod lets `go build` update go.sum for the generated modules.
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

if [[ ! -x "$APISERVER" ]]; then
  echo "build-kube: building kube-apiserver $KUBE_VERSION (first run only; ~6 min on 2 cores)" >&2
  M="$C/src/kube"; mkdir -p "$M"; cd "$M"
  go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" >/dev/null
  MOD="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/v$KUBE_VERSION.mod"
  { echo "module kubebuild"; echo "go 1.24.0"; echo "require k8s.io/kubernetes v$KUBE_VERSION"; echo "replace (";
    grep '=> ./staging' "$MOD" | awk -v v="v0.${KUBE_VERSION#1.}" '{print "\t" $1 " => " $1 " " v}'; echo ")"; } >go.mod
  printf '//go:build tools\npackage tools\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n' >tools.go
  go mod tidy >&2
  # Build to a temp name: a half-built binary never sits at the cached path.
  # The version stamp `make` would set; without it /version says v0.0.0-master.
  V="k8s.io/component-base/version"; MINOR="${KUBE_VERSION#1.}"; MINOR="${MINOR%%.*}"
  go build -ldflags "-X $V.gitVersion=v$KUBE_VERSION -X $V.gitMajor=1 -X $V.gitMinor=$MINOR -X $V.gitTreeState=clean" \
    -o "$APISERVER.tmp" k8s.io/kubernetes/cmd/kube-apiserver >&2
  mv "$APISERVER.tmp" "$APISERVER"
fi

if [[ ! -x "$ETCD" ]]; then
  echo "build-kube: building etcd $ETCD_VERSION (first run only; ~1 min on 2 cores)" >&2
  M="$C/src/etcd"; mkdir -p "$M"; cd "$M"
  printf 'module etcdbuild\ngo 1.24.0\n' >go.mod
  go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >&2
  go build -o "$ETCD.tmp" go.etcd.io/etcd/server/v3 >&2
  mv "$ETCD.tmp" "$ETCD"
fi
echo "$APISERVER"
echo "$ETCD"
