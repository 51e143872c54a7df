#!/usr/bin/env bash
# Installs headless Chromium and its WebDriver (Debian packages chromium and chromium-driver),
# used by the browser tests of the Analyzer dashboard (tests/service/test_dashboard_browser.py).
# Idempotent and quiet when already installed.
set -euo pipefail

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
/usr/bin/chromium --version 2>/dev/null | head -n 1
