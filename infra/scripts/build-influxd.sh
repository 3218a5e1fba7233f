#!/usr/bin/env bash
# Builds InfluxDB 2.7 `influxd` from the Go module proxy into a cache outside the
# repo. No registry ships the 2.x binary; the Go module builds it, with libflux
# compiled by cargo through InfluxData's pkg-config wrapper (crates from crates.io).
# Cold: 20-35 min on 2 cores. Cached: instant (the binary is reused).
set -euo pipefail
VERSION="${INFLUXD_VERSION:-2.7.12}"
C="${TELEMETRY_CACHE_DIR:-$HOME/.cache/telemetry-stack}"
OUT="$C/bin/influxd-$VERSION"
if [[ -x "$OUT" ]]; then echo "$OUT"; exit 0; fi
mkdir -p "$C/bin" "$C/src"
export GOTOOLCHAIN=local CGO_ENABLED=1
export RUSTUP_TOOLCHAIN=stable        # flux pins Rust 1.72; rustup cannot fetch it offline
# libflux has #![deny(warnings)]; newer rustc lints fail it. RUSTFLAGS alone is not
# enough: with --target (which the pkg-config wrapper passes) cargo does not apply
# RUSTFLAGS to host builds, and flux's build script compiles flux-core for the host.
# A rustc wrapper caps lints on every invocation, host and target alike.
cat > "$C/bin/rustc-cap-lints" <<'WRAP'
#!/bin/sh
rustc="$1"; shift
case " $* " in *" --cap-lints "*) exec "$rustc" "$@";; esac
exec "$rustc" "$@" --cap-lints warn
WRAP
chmod +x "$C/bin/rustc-cap-lints"
export RUSTC_WRAPPER="$C/bin/rustc-cap-lints"
[[ -x "$C/bin/pkg-config" ]] || GOBIN="$C/bin" go install github.com/influxdata/pkg-config@v0.2.14
export PKG_CONFIG="$C/bin/pkg-config"
SRC=$(go mod download -json "github.com/influxdata/influxdb/v2@v$VERSION" | python3 -c 'import json,sys;print(json.load(sys.stdin)["Dir"])')
rm -rf "$C/src/influxdb" && cp -r "$SRC" "$C/src/influxdb" && chmod -R u+w "$C/src/influxdb"
cd "$C/src/influxdb"
go build -tags sqlite_foreign_keys,sqlite_json -ldflags "-s -w -X main.version=$VERSION" -o "$OUT.tmp" ./cmd/influxd \
  || go build -mod=mod -tags sqlite_foreign_keys,sqlite_json -ldflags "-s -w -X main.version=$VERSION" -o "$OUT.tmp" ./cmd/influxd
mv "$OUT.tmp" "$OUT"
echo "$OUT"
