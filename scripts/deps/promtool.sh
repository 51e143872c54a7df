#!/usr/bin/env bash
# Builds Prometheus's promtool (cmd/promtool of the Go module github.com/prometheus/prometheus) into
# bin/promtool from the small Go module in promtool/, which requires it as a tool. The SLO tests run
# `promtool check rules` and `promtool test rules` on the rules `heritage-otel slo rules` prints.
#
# Idempotent: rebuilds only when promtool/go.mod, promtool/go.sum or the Go version changed (a hash is
# stored next to the binary). Uses the default GOMODCACHE/GOCACHE. Quiet when nothing is to be done.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MODULE_DIR="$REPO/promtool"
BIN_DIR="$REPO/bin"
BIN="$BIN_DIR/promtool"
STAMP="$BIN.buildhash"
BUILD_DIR="$REPO/build"
LOG="$BUILD_DIR/promtool.log"

if ! command -v go >/dev/null 2>&1; then
    echo "promtool.sh: the Go toolchain is required (go not found on PATH)" >&2
    exit 1
fi
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"

VERSION="$(awk '$1 == "github.com/prometheus/prometheus" { print $2; exit }' "$MODULE_DIR/go.mod")"
LDFLAGS="-s -w -X github.com/prometheus/common/version.Version=$VERSION"

want_hash="$( { cat "$MODULE_DIR/go.mod" "$MODULE_DIR/go.sum"; go env GOVERSION; echo "$LDFLAGS"; } | sha256sum | cut -d' ' -f1)"
if [ -x "$BIN" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want_hash" ]; then
    exit 0
fi

mkdir -p "$BIN_DIR" "$BUILD_DIR"
start=$(date +%s)
echo "promtool.sh: building bin/promtool (github.com/prometheus/prometheus $VERSION; first build takes minutes; log: build/promtool.log)" >&2
cd "$MODULE_DIR"
if ! go build -trimpath -ldflags "$LDFLAGS" -o "$BIN.tmp" github.com/prometheus/prometheus/cmd/promtool >"$LOG" 2>&1; then
    echo "promtool.sh: build failed; last lines of $LOG:" >&2
    tail -n 30 "$LOG" >&2
    exit 1
fi
mv -f "$BIN.tmp" "$BIN"
echo "$want_hash" >"$STAMP"
echo "promtool.sh: built bin/promtool (github.com/prometheus/prometheus $VERSION) in $(( $(date +%s) - start ))s" >&2
