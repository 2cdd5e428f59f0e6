#!/usr/bin/env bash
# Installs the npm packages from the lockfile when node_modules is missing or older than it.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "error: Node.js 20 or newer and npm are needed (Debian: apt-get install nodejs npm, or https://nodejs.org)" >&2
  exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "error: Node.js $(node -v) is too old; 20 or newer is needed" >&2
  exit 1
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  start=$(date +%s)
  echo "==> npm ci (packages from package-lock.json)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "    done in $(( $(date +%s) - start )) s"
fi
