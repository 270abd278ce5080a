#!/usr/bin/env bash
# Builds the Desk (desk/ → desk/dist, the Desk that m serves when a project has no plugins of its
# own): installs its npm packages from package-lock.json (npm ci, only when they changed), then
# runs Vite. Needs Node.js ≥ 20.19 (scripts/setup.sh installs it when missing).
set -euo pipefail
cd "$(dirname "$0")/../desk"

# npm ci wipes node_modules, so it runs only when the lock file is newer than the last install.
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "desk: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "desk: vite build → desk/dist"
node node_modules/vite/bin/vite.js build --logLevel warn
