#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with Debian's clang (AddressSanitizer and
# UndefinedBehaviorSanitizer on) and runs each for a bounded time on its corpus in
# tests/fuzz/corpus/<target> (new inputs it finds go to build/fuzz/corpus, not the repository).
# M_FUZZ_SECONDS (default 20) per target. Exit code non-zero when a target crashes.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${M_FUZZ_SECONDS:-20}
out=build/fuzz
mkdir -p "$out"
flags=(-std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
  -Icore/include -Iserver/include -DJSON_USE_IMPLICIT_CONVERSIONS=0)
# Each target with the few sources it exercises (no library built for it).
core_meta="core/src/doctype.cpp core/src/doctype_loader.cpp core/src/core_app.cpp core/src/values.cpp
  core/src/crypto.cpp core/src/json_input.cpp core/src/error.cpp"
targets=(request_framer json_input jwt cron filters coercion)
declare -A sources=(
  [request_framer]="server/src/request_framer.cpp"
  [json_input]="core/src/json_input.cpp core/src/error.cpp"
  [jwt]="server/src/jwt.cpp core/src/crypto.cpp core/src/error.cpp"
  [cron]="core/src/cron.cpp core/src/error.cpp"
  [filters]="$core_meta core/src/query.cpp"
  [coercion]="$core_meta"
)
declare -A libs=([jwt]="-lsodium" [filters]="-lsodium" [coercion]="-lsodium")
for target in "${targets[@]}"; do
  # shellcheck disable=SC2086
  clang++ "${flags[@]}" "tests/fuzz/${target}_fuzz.cpp" ${sources[$target]} -lfmt \
    ${libs[$target]:-} -o "$out/$target"
done
for target in "${targets[@]}"; do
  mkdir -p "$out/corpus/$target"
  echo "fuzz: $target for ${seconds} s"
  "$out/$target" -max_total_time="$seconds" -max_len=65536 -print_final_stats=0 \
    -artifact_prefix="$out/" \
    "$out/corpus/$target" "tests/fuzz/corpus/$target" 2>"$out/$target.log" || {
    tail -40 "$out/$target.log" >&2
    echo "fuzz: $target failed; the input is in $out (crash-*)" >&2
    exit 1
  }
  grep -E "^#[0-9]+.*DONE" "$out/$target.log" | tail -1 || true
done
echo "fuzz: all targets ran clean"
