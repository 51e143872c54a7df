#!/usr/bin/env bash
# Installs Prometheus Alertmanager (Debian package prometheus-alertmanager), used by
# tests/analysis/test_sink_alertmanager.py. Idempotent and quiet when already installed.
set -euo pipefail

if [ -x /usr/bin/prometheus-alertmanager ]; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# --no-install-recommends: the test starts its own instance; no service setup is needed.
$SUDO apt-get install -y -qq --no-install-recommends prometheus-alertmanager >/dev/null
# The package may start a system service; the tests run their own instance on a free port.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus-alertmanager 2>/dev/null; then
    $SUDO systemctl stop prometheus-alertmanager || true
fi
/usr/bin/prometheus-alertmanager --version 2>&1 | head -n 1
