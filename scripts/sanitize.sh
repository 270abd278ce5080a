#!/usr/bin/env bash
# The C++ tests under sanitizers (part of scripts/test.sh; needs the services test.sh starts):
#   build/asan  AddressSanitizer + UndefinedBehaviorSanitizer: the core, migration, server and
#               command tests (the `m` they run as a child process is instrumented too);
#   build/tsan  ThreadSanitizer: the server, worker, job and event tests.
# Any report fails the test that triggered it (-fno-sanitize-recover, halt_on_error). Leak
# detection is off: a CLI that exits keeps its caches on purpose, and reports of those would
# drown real ones.
set -euo pipefail
cd "$(dirname "$0")/.."

configure() { # dir sanitizer
  cmake -S . -B "$1" -DCMAKE_BUILD_TYPE=Debug -DM_WERROR=ON -DM_SANITIZE="$2" >/dev/null
}

export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# history_size=7 (the largest): a suppression matches a stack, and on a loaded machine TSan's
# default history lost the earlier access's stack ("failed to restore the stack"), so the
# documented epoll hand-off of park() in tests/tsan.supp went unmatched and failed a run.
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:history_size=7:suppressions=$PWD/tests/tsan.supp"

configure build/asan "address,undefined"
cmake --build build/asan -j2 --target m m_server_module m_postgres_module m_nats_module \
  core_tests migration_tests server_tests command_tests
ctest --test-dir build/asan --output-on-failure -j2 \
  -R '^(core_tests|migration_tests|server_tests|command_tests):'

configure build/tsan thread
cmake --build build/tsan -j2 --target m m_server_module m_postgres_module m_nats_module \
  core_tests server_tests nats_tests
ctest --test-dir build/tsan --output-on-failure -j2 \
  -R '^(server_tests|nats_tests|core_tests:.*(job|worker|event|outbox|feed|schedul|queue))'
