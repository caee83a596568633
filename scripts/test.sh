#!/usr/bin/env bash
# Install the test dependencies into .venv (created if missing), then run the whole
# test command: ruff (lint + format check), mypy, and the pytest suite.
# Usage: bash scripts/test.sh [extra pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# torch first, pinned: the CPU build on these machines; any other spec pulls CUDA wheels.
.venv/bin/python -m pip install -q --disable-pip-version-check "torch==2.13.0"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]"

# The storage contract suite also runs against a real PostgreSQL server: a throwaway one
# when the PostgreSQL binaries are installed (.ci/run installs them) and no URL is given.
if [ -z "${TUNELAB_TEST_POSTGRES_URL:-}" ] && ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  TUNELAB_TEST_POSTGRES_URL=$(bash scripts/postgres.sh start)
  export TUNELAB_TEST_POSTGRES_URL
  trap 'bash scripts/postgres.sh stop' EXIT
fi

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
.venv/bin/pytest "$@"
