#!/usr/bin/env bash
# Builds telemetrygen (cmd/telemetrygen of opentelemetry-collector-contrib, the same release
# as the Collector) into bin/telemetrygen from the small Go module in interop/telemetrygen/,
# which requires it as a tool. The interop tests (tests/service/test_interop.py) send its
# metrics to a real `analyzer serve` and check the Analyzer counted exactly what it sent.
#
# Idempotent: rebuilds only when interop/telemetrygen/go.mod, go.sum or the Go version
# changed (a hash is stored next to the binary). Quiet when nothing is to be done.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MODULE_DIR="$REPO/interop/telemetrygen"
BIN_DIR="$REPO/bin"
BIN="$BIN_DIR/telemetrygen"
STAMP="$BIN.buildhash"
BUILD_DIR="$REPO/build"
LOG="$BUILD_DIR/telemetrygen.log"

if ! command -v go >/dev/null 2>&1; then
    echo "telemetrygen.sh: the Go toolchain is required (go not found on PATH)" >&2
    exit 1
fi
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"

want_hash="$( { cat "$MODULE_DIR/go.mod" "$MODULE_DIR/go.sum"; go env GOVERSION; } | sha256sum | cut -d' ' -f1)"
if [ -x "$BIN" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want_hash" ]; then
    exit 0
fi

mkdir -p "$BIN_DIR" "$BUILD_DIR"
start=$(date +%s)
echo "telemetrygen.sh: building bin/telemetrygen (log: build/telemetrygen.log)" >&2
cd "$MODULE_DIR"
if ! go build -trimpath -ldflags "-s -w" -o "$BIN.tmp" github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen >"$LOG" 2>&1; then
    echo "telemetrygen.sh: build failed; last lines of $LOG:" >&2
    tail -n 30 "$LOG" >&2
    exit 1
fi
mv -f "$BIN.tmp" "$BIN"
echo "$want_hash" >"$STAMP"
echo "telemetrygen.sh: built bin/telemetrygen in $(( $(date +%s) - start ))s" >&2
