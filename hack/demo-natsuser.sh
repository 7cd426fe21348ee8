#!/usr/bin/env bash
# natsuser demo: creates two NATS users against the self-hosted default
# backend with the local runner, shows their SealedSecrets and status, then
# runs again, as Kratix's scheduled re-run would, and shows by byte
# comparison that nothing changed.
#
# Usage: hack/demo-natsuser.sh [output-dir]   (after `make build`;
# default output .demo/natsuser). Development keys are written under
# <output-dir>/keys by bin/devkeys; nothing here needs a cluster or a
# network.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.demo/natsuser}
store="$out/state"
promise=promises/natsuser/promise.yaml
rm -rf "$store" "$out/run1" "$out/run2"
mkdir -p "$out"

# One clock for every run: a re-run at the same instant must change nothing,
# and Kratix's own condition timestamps then stay put as well.
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
envflags=()
while IFS= read -r kv; do envflags+=(--env "$kv"); done < <(bin/devkeys -dir "$out/keys")

run() {
  for req in promises/natsuser/examples/*.yaml; do
    bin/kratix-run --promise "$promise" --request "$req" --state-store "$store" \
      --now "$now" --show-status=false "${envflags[@]}" >/dev/null
  done
}

# status prints what `kubectl get natsusers` would show, from the runner's
# copy of each object.
status() {
  printf '%-20s %-16s %-8s %-16s %-21s %s\n' NAMESPACE NAME ACCOUNT SECRET EXPIRES RENEWAL
  for f in "$store"/.platform/nats.promisekit.dev/natsusers/*/*.yaml; do
    ns=$(basename "$(dirname "$f")"); name=$(basename "$f" .yaml)
    field() { sed -n "s/^  $1: \"\{0,1\}\([^\"]*\)\"\{0,1\}$/\1/p" "$f"; }
    printf '%-20s %-16s %-8s %-16s %-21s %s\n' "$ns" "$name" "$(field account)" "$(field secretName)" \
      "$(field credentialsExpireAt)" "$(field nextRenewal)"
  done
}

echo "-- first run: users created, credentials issued and sealed"
run
find "$store" -type f -not -path '*/.platform/*' | sort
echo
first=$(find "$store" -name 'sealedsecret_*' | sort | head -n 1)
echo "-- $first (ciphertext shortened)"
sed -E 's/(: Ag[A-Za-z0-9+\/]{40})[A-Za-z0-9+\/=]*/\1…/' "$first"
echo
status
echo
for f in "$store"/.platform/nats.promisekit.dev/natsusers/*/*.yaml; do
  sed -n '/^  message:/,/^  [a-zA-Z]/p' "$f" | sed '$d'
done

echo
echo "-- re-runs, as Kratix schedules them: no new credentials, the same bytes"
same() { diff -r "$@" >/dev/null && echo yes || echo no; }
cp -r "$store" "$out/run1"
run
cp -r "$store" "$out/run2"
run
output_same=$(same -x .platform "$out/run1" "$store")
all_same=$(same "$out/run2" "$store")
echo "state-store output byte-identical to the first run's:        $output_same"
echo "third run identical to the second, status included:          $all_same"
echo "(the first run's status differs from later ones in its message alone: it says why credentials were issued)"
rm -rf "$out/run1" "$out/run2"
if [ "$output_same" != yes ] || [ "$all_same" != yes ]; then
  echo "natsuser demo: a re-run changed something" >&2
  exit 1
fi
echo "Keys: $out/keys (development only). State store: $store"
