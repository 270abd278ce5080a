#!/usr/bin/env bash
# The test command (README, .ci/run): installs what is needed, builds m and the Desk with warnings
# as errors, checks formatting, starts a throwaway PostgreSQL on a free loopback port, runs the
# fuzz targets for a bounded time (scripts/fuzz.sh), runs every test against SQLite and
# PostgreSQL (and the Desk's Vitest and Chromium tests), then the C++ tests under sanitizers
# (scripts/sanitize.sh), and stops the servers.
# Exit code non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
tests/server/openapi/setup.sh # the OpenAPI 3.1 validator of the server tests (npm ci)
scripts/desk.sh # the Desk: npm ci + vite build (its unit and browser tests run in ctest)
scripts/check-format.sh # fails fast, before the long build
scripts/check-size.sh
cmake -S . -B build/test -DCMAKE_BUILD_TYPE=Debug -DM_WERROR=ON >/dev/null
cmake --build build/test -j2

# shellcheck source=lib/postgres.sh
source scripts/lib/postgres.sh
trap pg_stop EXIT
pg_start
export M_TEST_REQUIRE_POSTGRES=1 M_TEST_REQUIRE_NODE=1 M_TEST_REQUIRE_NATS=1 M_TEST_REQUIRE_REDIS=1

scripts/fuzz.sh # the fuzz targets, a bounded time each (M_FUZZ_SECONDS)
ctest --test-dir build/test --output-on-failure -j2
scripts/sanitize.sh # the C++ tests again under ASan + UBSan, and the concurrent ones under TSan
