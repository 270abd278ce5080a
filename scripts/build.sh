#!/usr/bin/env bash
# Configures and builds m into build/<type> (default Release). Usage: scripts/build.sh [Debug|Release]
set -euo pipefail
cd "$(dirname "$0")/.."
type="${1:-Release}"
dir="build/$(echo "$type" | tr '[:upper:]' '[:lower:]')"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DM_WERROR=ON -DBUILD_TESTING=OFF >/dev/null
cmake --build "$dir" -j2
echo "build: $dir/cli/m"
