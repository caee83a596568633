#!/usr/bin/env bash
# Debian packages the tests use: PostgreSQL (the storage contract suite runs on a real
# server) and Chromium (the HTML report is rendered headless; Playwright drives it in the
# dashboard's browser tests). Installs what is missing.
set -euo pipefail
need=()
ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "ci-packages.sh: not root and no sudo: cannot install ${need[*]}; their tests will skip" >&2
    exit 0
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
