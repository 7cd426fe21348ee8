#!/usr/bin/env bash
# Runs every promise on its example requests with the local runner, no
# cluster and no cloud account, and prints what Kratix would commit.
# Usage: hack/demo.sh [output-dir]   (after `make build`)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.demo}
rm -rf "$out"
mkdir -p "$out"

# A real Kubernetes API server (cmd/demo-apiserver: apiextensions-apiserver
# on an embedded etcd, in one process on a loopback port) holds every
# promise's CRD: the runner keeps the requests there, the stages that read
# the platform API (apiaggregator's siblings, environment's self-delete)
# reach it, and `kubectl get` tables are printed from it. Its connection
# (URL, CA, a token with all rights) lives in a private temporary
# directory, never in the demo's output.
${GO:-go} build -o bin/demo-apiserver ./cmd/demo-apiserver
API_SERVER=$(mktemp -d)
export API_SERVER
serverlog="$out/apiserver.log"
promises=()
for p in promises/*/*promise.yaml; do promises+=(-promise "$p"); done
bin/demo-apiserver serve -dir "$API_SERVER" "${promises[@]}" >"$serverlog" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$API_SERVER"' EXIT
for _ in $(seq 600); do
  grep -q '^ready$' "$serverlog" && break
  kill -0 "$server" 2>/dev/null || { cat "$serverlog"; echo "demo-apiserver failed" >&2; exit 1; }
  sleep 0.1
done
grep -q '^ready$' "$serverlog" || { echo "demo-apiserver did not start; see $serverlog" >&2; exit 1; }
echo "== a real API server (cmd/demo-apiserver) serves the promises' CRDs"
echo

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
