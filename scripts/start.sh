#!/usr/bin/env bash
# The main job on the embedded default, the lab stack: validate every data file, then render
# every generated config file into out/lab/ so they can be read.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-npm.sh
echo "==> validate (every stack)"
npx tsx lib/cli/main.ts validate
echo "==> render (stack lab) into out/lab"
npx tsx lib/cli/main.ts render --stack lab --out out/lab
