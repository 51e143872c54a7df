#!/usr/bin/env bash
# Builds Jaeger v2 (cmd/jaeger of the Go module github.com/jaegertracing/jaeger) into
# bin/jaeger from the small Go module in jaeger/, which requires it as a tool and
# repeats the replace directive its go.mod needs (a plain `go install` ignores it).
#
# Idempotent: rebuilds only when jaeger/go.mod, jaeger/go.sum, the link flags or
# the Go version changed (a hash is stored next to the binary). Uses the default
# GOMODCACHE/GOCACHE. Quiet when nothing is to be done.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MODULE_DIR="$REPO/jaeger"
BIN_DIR="$REPO/bin"
BIN="$BIN_DIR/jaeger"
STAMP="$BIN.buildhash"
BUILD_DIR="$REPO/build"
LOG="$BUILD_DIR/jaeger.log"

if ! command -v go >/dev/null 2>&1; then
    echo "jaeger.sh: the Go toolchain is required (go not found on PATH)" >&2
    exit 1
fi
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"

JAEGER_VERSION="$(awk '$1 == "github.com/jaegertracing/jaeger" { print $2; exit }' "$MODULE_DIR/go.mod")"
# The module build has no version stamp unless we set it (`bin/jaeger version`, service.version).
LDFLAGS="-s -w -X github.com/jaegertracing/jaeger/internal/version.latestVersion=$JAEGER_VERSION"

want_hash="$( { cat "$MODULE_DIR/go.mod" "$MODULE_DIR/go.sum"; go env GOVERSION; echo "$LDFLAGS"; } | sha256sum | cut -d' ' -f1)"
if [ -x "$BIN" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want_hash" ]; then
    exit 0
fi

mkdir -p "$BIN_DIR" "$BUILD_DIR"
start=$(date +%s)
echo "jaeger.sh: building bin/jaeger (Jaeger v2 from github.com/jaegertracing/jaeger; first build takes several minutes; log: build/jaeger.log)" >&2
cd "$MODULE_DIR"
if ! go build -trimpath -ldflags "$LDFLAGS" -o "$BIN.tmp" github.com/jaegertracing/jaeger/cmd/jaeger >"$LOG" 2>&1; then
    echo "jaeger.sh: build failed; last lines of $LOG:" >&2
    tail -n 30 "$LOG" >&2
    exit 1
fi
mv -f "$BIN.tmp" "$BIN"
echo "$want_hash" >"$STAMP"
echo "jaeger.sh: built bin/jaeger (github.com/jaegertracing/jaeger $JAEGER_VERSION) in $(( $(date +%s) - start ))s" >&2
