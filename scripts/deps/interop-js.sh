#!/usr/bin/env bash
# Installs the OpenTelemetry JS SDK packages of interop/js/ (package.json, pinned by package-lock.json)
# with `npm ci`, for the interop tests (tests/service/test_interop.py): a Node process as an OTLP client
# of the Analyzer service. Needs Node.js 20.6 or newer and npm.
#
# Idempotent: reinstalls only when package-lock.json or the Node version changed (a hash is stored in
# node_modules). Quiet when nothing is to be done.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="$REPO/interop/js"
STAMP="$DIR/node_modules/.heritage-otel-installed"

for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "interop-js.sh: $tool is required (Node.js 20.6 or newer)" >&2
        exit 1
    fi
done

want_hash="$( { cat "$DIR/package-lock.json"; node --version; } | sha256sum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want_hash" ]; then
    exit 0
fi

echo "interop-js.sh: installing the OpenTelemetry JS SDK into interop/js/node_modules" >&2
cd "$DIR"
npm ci --no-audit --no-fund --loglevel=error >&2
echo "$want_hash" >"$STAMP"
