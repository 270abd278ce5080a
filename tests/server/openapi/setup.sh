#!/usr/bin/env bash
# Installs the OpenAPI validator of the server tests (validate.mjs) from the committed
# package-lock.json. Does nothing when it is installed already, or when there is no node (the test
# then skips the validation with a warning); fails when there is node but no npm.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
if ! command -v node >/dev/null 2>&1; then
    echo "tests/server/openapi/setup.sh: node not found; the OpenAPI validation will be skipped" >&2
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "tests/server/openapi/setup.sh: node is installed but npm is not (apt-get install npm)" >&2
    exit 1
fi
# A lock newer than the installed tree (a version bump) installs again.
if [[ -d node_modules && node_modules/.package-lock.json -nt package-lock.json ]]; then
    exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
