#!/usr/bin/env bash
# Builds the heritage-otel OpenTelemetry Collector distribution into bin/otelcol-heritage
# with the OpenTelemetry Collector Builder (ocb), from collector/builder-config.yaml.
#
# Idempotent: rebuilds only when the manifest, the builder release or the Go
# version changed (a hash is stored next to the binary). Uses the default
# GOMODCACHE/GOCACHE, so later builds on the same machine reuse downloads and
# compiled packages. Quiet when nothing is to be done.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OCB_VERSION="v0.161.0"   # keep equal to the core release pinned in the manifest
MANIFEST="$REPO/collector/builder-config.yaml"
BIN_DIR="$REPO/bin"
BIN="$BIN_DIR/otelcol-heritage"
STAMP="$BIN.buildhash"
OCB="$BIN_DIR/ocb-$OCB_VERSION"
BUILD_DIR="$REPO/build"
LOG="$BUILD_DIR/otelcol-heritage.log"

if ! command -v go >/dev/null 2>&1; then
    echo "collector.sh: the Go toolchain is required (go not found on PATH)" >&2
    exit 1
fi
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"

want_hash="$( { cat "$MANIFEST"; echo "ocb=$OCB_VERSION"; go env GOVERSION; } | sha256sum | cut -d' ' -f1)"
if [ -x "$BIN" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want_hash" ]; then
    exit 0
fi

mkdir -p "$BIN_DIR" "$BUILD_DIR"
start=$(date +%s)
echo "collector.sh: building bin/otelcol-heritage with ocb $OCB_VERSION (first build takes several minutes; log: build/otelcol-heritage.log)" >&2

if [ ! -x "$OCB" ]; then
    tmp_gobin="$(mktemp -d)"
    GOBIN="$tmp_gobin" go install "go.opentelemetry.io/collector/cmd/builder@$OCB_VERSION"
    mv "$tmp_gobin/builder" "$OCB"
    rmdir "$tmp_gobin"
fi

cd "$REPO"
if ! "$OCB" --config "$MANIFEST" >"$LOG" 2>&1; then
    echo "collector.sh: build failed; last lines of $LOG:" >&2
    tail -n 30 "$LOG" >&2
    exit 1
fi
install -m 0755 "$BUILD_DIR/otelcol-heritage/otelcol-heritage" "$BIN.tmp"
mv -f "$BIN.tmp" "$BIN"
echo "$want_hash" >"$STAMP"
echo "collector.sh: built $("$BIN" --version) in $(( $(date +%s) - start ))s" >&2
