#!/usr/bin/env bash
# Runs every Go fuzz target in the repository for a bounded time each.
# Usage: hack/fuzz.sh [duration per target, default 30s]
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-30s}
found=0
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    found=$((found + 1))
    echo "== $pkg $target ($fuzztime)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
  done
done
echo "$found fuzz targets run for $fuzztime each"
