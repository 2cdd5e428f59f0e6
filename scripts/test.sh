#!/usr/bin/env bash
# THE test command: `npm test` runs this; CI runs `npm test` through .ci/run.
#   npm test                          all tiers that vitest finds
#   npm test -- tests/tools.test.ts   extra arguments go to `vitest run`
# Phases: npm ci (only when needed), Debian packages (scripts/ensure-debs.sh), typecheck,
# the Pulumi CLI (cached after the first build), vitest.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

now() { printf '%s' "${EPOCHREALTIME/[,]/.}"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2fs", b - a }'; }
T0="$(now)"

phase() {
  local label="$1"; shift
  local t0 rc=0
  t0="$(now)"
  printf '[test] %s …\n' "$label" >&2
  "$@" || rc=$?
  if [[ $rc -eq 0 ]]; then
    printf '[test] %s: ok in %s\n' "$label" "$(elapsed "$t0")" >&2
  else
    printf '[test] %s: FAILED (exit %s) after %s\n' "$label" "$rc" "$(elapsed "$t0")" >&2
    exit "$rc"
  fi
}

# npm ci only when node_modules is missing or older than the lock file (one rule, shared with npm start).
phase "npm packages" bash scripts/ensure-npm.sh

phase "Debian packages" bash scripts/ensure-debs.sh
phase "typecheck (tsc --noEmit)" npx --no-install tsc --noEmit -p .
# The engine tests need the Pulumi CLI: build it here (first time only) rather than inside a test's timeout.
phase "Pulumi CLI (lib/engine/toolchain.ts)" npx --no-install tsx -e "require('./lib/engine/toolchain').ensureEngine()"
# The engine starts the provider at every run: compile it once (only when its sources changed).
phase "provider build (lib/engine/provider-build.ts)" npx --no-install tsx -e "require('./lib/engine/provider-build').ensureProviderBuild()"
phase "vitest run${*:+ $*}" npx --no-install vitest run "$@"

printf '[test] all phases passed in %s\n' "$(elapsed "$T0")" >&2
