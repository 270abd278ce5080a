#!/usr/bin/env bash
# Regenerates the checked-in completion scripts from the command tree.
set -euo pipefail
cd "$(dirname "$0")/.."
m="${1:-build/release/cli/m}"
for shell in bash zsh fish; do
  "$m" completions "$shell" > "completions/m.$shell"
done
echo "completions: regenerated with $m"
