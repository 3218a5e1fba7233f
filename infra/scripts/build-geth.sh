#!/usr/bin/env bash
# Builds go-ethereum's `geth` from the Go module proxy into a cache outside the
# repo, for the acknowledgement-ledger tests against a real private chain
# (`geth --dev`). Idempotent: a cached binary of the same version is reused.
# Cold: several minutes on 2 cores. Prints the binary path on stdout.
set -euo pipefail
VERSION="${GETH_VERSION:-1.17.5}"
C="${TELEMETRY_CACHE_DIR:-$HOME/.cache/telemetry-stack}"
BIN="$C/bin"
OUT="$BIN/geth-$VERSION"
if [[ -x "$OUT" ]]; then
  ln -sf "geth-$VERSION" "$BIN/geth"   # tests look for $BIN/geth
  echo "$OUT"; exit 0
fi
mkdir -p "$BIN"
# GOTOOLCHAIN=local: a `toolchain` line must never try to download another Go.
# Build into a temp GOBIN so a half-built binary never sits at the cached path.
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
GOTOOLCHAIN=local GOBIN="$TMP" go install "github.com/ethereum/go-ethereum/cmd/geth@v$VERSION" >&2
mv "$TMP/geth" "$OUT"
ln -sf "geth-$VERSION" "$BIN/geth"
echo "$OUT"
