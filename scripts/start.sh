#!/usr/bin/env bash
# The main job on the embedded default, the lab stack: validate every data file, render every
# generated config file into out/lab/, then preview what `up` would do to the lab.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-npm.sh
if ! command -v ssh-keygen >/dev/null; then
  EXTRA_DEBS="openssh-client" ONLY_EXTRA=1 bash scripts/ensure-debs.sh
fi
echo "==> validate (every stack)"
npx tsx lib/cli/main.ts validate
echo "==> render (stack lab) into out/lab"
npx tsx lib/cli/main.ts render --stack lab --out out/lab
echo "==> provider build (only when its sources changed)"
npx tsx -e "require('./lib/engine/provider-build').ensureProviderBuild()"
echo "==> preview (stack lab)"
npx tsx lib/cli/main.ts preview --stack lab
