#!/usr/bin/env bash
# Runs every promise on its example requests with the local runner, no
# cluster and no cloud account, and prints what Kratix would commit.
# Usage: hack/demo.sh [output-dir]   (after `make build`)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.demo}
rm -rf "$out"
mkdir -p "$out"

echo "== example stage (the foundation, test/example)"
store="$out/example/state"
for req in test/example/examples/*.yaml; do
  bin/kratix-run --promise test/example/promise.yaml --request "$req" --state-store "$store" --show-status=false
done
find "$store" -type f -not -path '*/.platform/*' | sort

for script in hack/demo-*.sh; do
  [ -e "$script" ] || continue
  name=$(basename "$script" .sh); name=${name#demo-}
  echo
  echo "== $name"
  bash "$script" "$out/$name"
done
echo
echo "Demo output is in $out/ (state stores under */state)."
