#!/usr/bin/env bash
# Installs every Debian package m needs to build, test and run (idempotent; needs root or sudo).
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang-format git ca-certificates python3 util-linux bc
  libcli11-dev libpqxx-dev libsqlite3-dev sqlite3 libtomlplusplus-dev nlohmann-json3-dev
  libfmt-dev libsodium-dev libssl-dev catch2
  libcpp-httplib-dev libspdlog-dev postgresql postgresql-contrib wrk curl
  libnats-dev nats-server libhiredis-dev redis-server redis-tools
  chromium chromium-driver
  clang libclang-rt-14-dev # the fuzz targets (scripts/fuzz.sh): libFuzzer, ASan, UBSan
)

# Chromium: the Desk's end-to-end tests drive Debian's browser (never a downloaded one).
# Node.js (the Desk, the OpenAPI validator of the tests): Debian's packages only when the machine
# has no node of its own (a nodesource build brings its own npm and conflicts with Debian's).
# The Desk's Vite 8 needs Node 20.19 or newer; Debian 12's own nodejs is 18, too old for it.
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: all packages present"
