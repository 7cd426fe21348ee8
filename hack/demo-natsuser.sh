#!/usr/bin/env bash
# natsuser demo: creates two NATS users against the self-hosted default
# backend with the local runner, shows their SealedSecrets and status, then
# runs again, as Kratix's scheduled re-run would, and shows by byte
# comparison that nothing changed. Then the same two users on two clusters
# whose sealed-secrets controllers have different keys: each is placed on
# one and sealed for its controller, and one moves to the other cluster.
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

# With API_SERVER (hack/demo.sh's real API server) the requests live there
# too, and `kubectl get` is printed from it.
server=()
if [ -n "${API_SERVER:-}" ]; then server=(--api-server "$API_SERVER"); fi
run() {
  for req in promises/natsuser/examples/*.yaml; do
    bin/kratix-run --promise "$promise" --request "$req" --state-store "$store" "${server[@]}" \
      --now "$now" --show-status=false "${envflags[@]}" >/dev/null
  done
}

# status prints what `kubectl get natsusers` would show, from the runner's
# copy of each object.
status() {
  if [ -n "${API_SERVER:-}" ]; then
    echo "\$ kubectl get natsusers -A   (the API server's Table, kubectl's printer)"
    bin/demo-apiserver get -dir "$API_SERVER" -A natsusers
    return
  fi
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

# Two clusters, each with its own sealed-secrets controller and so its own
# key: the platform lists them in config.destinations (devkeys writes one
# key pair per destination under keys/clusters). orders-api names no
# destination and goes to the default, cluster-a; metrics-reader asks for
# cluster-b. The runner has two destinations labelled as the configuration
# selects them.
echo
echo "-- two clusters with different sealing keys: each NATSUser is placed on one, sealed for its controller"
cstore="$out/clusters"
creqs="$out/cluster-requests"
rm -rf "$cstore" "$creqs"
mkdir -p "$creqs"
cenv=()
while IFS= read -r kv; do cenv+=(--env "$kv"); done < <(bin/devkeys -dir "$out/keys/clusters" -destinations cluster-a,cluster-b)
cconfig="$out/keys/clusters/natsuser.yaml"
cp promises/natsuser/examples/orders-api.yaml "$creqs/orders-api.yaml"
place_metrics() { sed "/^spec:/a\\  destination: $1" promises/natsuser/examples/metrics-reader.yaml >"$creqs/metrics-reader.yaml"; }
place_metrics cluster-b
crun() {
  for req in "$creqs"/*.yaml; do
    bin/kratix-run --promise "$promise" --request "$req" --state-store "$cstore" --now "$now" --show-status=false \
      "${cenv[@]}" --destination cluster-a=cluster:cluster-a --destination cluster-b=cluster:cluster-b >/dev/null
  done
}
# certOf prints the certificate fingerprint config.destinations gives a
# destination; sealedFor, the one a request's ciphertext was sealed for.
certOf() { sed -n "/^  name: $1\$/,/sha256:/s/^    sha256: //p" "$cconfig"; }
sealedFor() { sed -n 's/^    certificateSHA256: //p' "$cstore/.platform/nats.promisekit.dev/natsusers/$1.yaml"; }
destinationOf() { sed -n '/^status:/,$s/^  destination: //p' "$cstore/.platform/nats.promisekit.dev/natsusers/$1.yaml"; }
placement() {
  printf '%-34s %-12s %s\n' REQUEST DESTINATION "SEALED FOR (certificate SHA-256)"
  for obj in team-orders/orders-api team-observability/metrics-reader; do
    d=$(destinationOf "$obj")
    printf '%-34s %-12s %.16s…' "$obj" "$d" "$(sealedFor "$obj")"
    if [ "$(sealedFor "$obj")" = "$(certOf "$d")" ]; then echo " = $d's controller"; else echo " NOT $d's controller"; exit 1; fi
  done
}
for d in cluster-a cluster-b; do printf 'controller of %s: certificate %.16s…\n' "$d" "$(certOf "$d")"; done
if [ "$(certOf cluster-a)" = "$(certOf cluster-b)" ]; then echo "the two clusters share a key" >&2; exit 1; fi
crun
(cd "$cstore" && find . -type f -not -path './.platform/*' | sort | sed 's#^\./#  #')
placement

echo
echo "-- metrics-reader moves to cluster-a: new credentials sealed for cluster-a's key, nothing left on cluster-b"
place_metrics cluster-a
crun
(cd "$cstore" && find . -type f -not -path './.platform/*' | sort | sed 's#^\./#  #')
placement
sed -n '/^  message:/,/^  [a-zA-Z]/p' "$cstore/.platform/nats.promisekit.dev/natsusers/team-observability/metrics-reader.yaml" | sed '$d'
if [ -n "$(find "$cstore/cluster-b" -type f 2>/dev/null)" ]; then
  echo "natsuser demo: files left on cluster-b after the move" >&2
  exit 1
fi
cp -r "$cstore" "$out/run1"
crun
moved_same=$(same -x .platform "$out/run1" "$cstore")
rm -rf "$out/run1"
echo "a re-run after the move: state-store output byte-identical: $moved_same"
[ "$moved_same" = yes ] || { echo "natsuser demo: a re-run after the move changed the output" >&2; exit 1; }
echo "Two-cluster state store: $cstore"
echo "Keys: $out/keys (development only). State store: $store"
