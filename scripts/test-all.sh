#!/usr/bin/env bash
# Install everything heritage-otel's tests need, lint (ruff, mypy: either failing fails the run), then run
# the whole suite.
#   bash scripts/test-all.sh [pytest args...]
# System dependencies (Prometheus Alertmanager, the Collector and Jaeger
# builds, ...) are installed by scripts/deps/*.sh, each idempotent and cached.
set -euo pipefail
cd "$(dirname "$0")/.."

for dep in scripts/deps/*.sh; do
  [ -e "$dep" ] || continue
  bash "$dep"
done

python_bin=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv with $($python_bin --version)"
  "$python_bin" -m venv .venv
fi
echo "== installing heritage-otel with its dev extra"
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'

echo "== ruff (rules in pyproject.toml [tool.ruff])"
.venv/bin/ruff check .
echo "== mypy (strict on the public API; pyproject.toml [tool.mypy])"
.venv/bin/mypy

echo "== running the test suite"
exec .venv/bin/python -m pytest "$@"
