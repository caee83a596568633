#!/usr/bin/env bash
# Install the test dependencies into .venv (created if missing), then run the whole
# test command: ruff (lint + format check), mypy, the documentation site (mkdocs build
# --strict: a broken link or API reference fails it) and the pytest suite.
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
  # Its own folder and a free port, so test runs side by side do not meet.
  TUNELAB_PG_DIR=$(mktemp -d /tmp/tunelab-pg.XXXXXX)
  TUNELAB_PG_PORT=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  export TUNELAB_PG_DIR TUNELAB_PG_PORT
  TUNELAB_TEST_POSTGRES_URL=$(bash scripts/postgres.sh start)
  export TUNELAB_TEST_POSTGRES_URL
  trap 'bash scripts/postgres.sh stop; rm -rf "$TUNELAB_PG_DIR"' EXIT
fi

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy
echo "== mkdocs"
DOCS_SITE=$(mktemp -d /tmp/tunelab-site.XXXXXX)
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --quiet --site-dir "$DOCS_SITE"
rm -rf "$DOCS_SITE"
echo "== pytest"
.venv/bin/pytest "$@"
