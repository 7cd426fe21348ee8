#!/usr/bin/env bash
# apiaggregator demo: the platform team's ApiAggregator "portal" and three
# teams' ApiAggregatorTargets from two namespaces (one rewriting its
# prefixes, one with a larger request-body limit), run with the local
# runner. It shows a target applied before its aggregator waiting for it
# (a retry, not a failure) and converging once it exists, prints the
# state-store tree as Argo CD would read it, shows a conflicting target
# refused with the older target named in its own status, and re-runs
# everything to show that nothing changes.
#
# Usage: hack/demo-apiaggregator.sh [output-dir]   (after `make build`;
# default output .demo/apiaggregator). BIN overrides the binary directory.
# With API_SERVER (a connection directory of cmd/demo-apiserver, as
# hack/demo.sh sets it) the requests live in that real API server, the
# targets read their aggregator and siblings from it, and the tables are
# `kubectl get` as the server prints them; without it, the runner's own
# directory is the platform API.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.demo/apiaggregator}
bin=${BIN:-bin}
store="$out/state"
examples=promises/apiaggregator/examples
rm -rf "$store" "$out/run1"
mkdir -p "$out"

# The platform configuration (the apiaggregator-config ConfigMap in a
# cluster): Gateways in one namespace, certificates from cert-manager, and
# everything on the destination that runs the public gateway.
cat > "$out/config.yaml" <<'YAML'
kratix:
  workflowControl: true   # this Kratix honours workflow-control.yaml
gatewayClassName: eg
gatewayNamespace: gateways
implementation: envoy-gateway
certManager:
  kind: ClusterIssuer
  name: letsencrypt
destinationSelector:
  gateway: public
YAML

# The runner gives an object its creation time when it first sees it, from
# the run's clock: the rogue target below comes a minute after the others,
# so Gateway API (oldest route first) would give its prefix to the older.
# A fixed clock also keeps the demo's output the same from day to day.
now=2026-11-02T09:00:00Z
server=()
if [ -n "${API_SERVER:-}" ]; then server=(--api-server "$API_SERVER"); fi
run() { # promise request [kratix-run flags]
  local promise=$1 request=$2; shift 2
  "$bin/kratix-run" --bin-dir "$bin" --promise "promises/apiaggregator/$promise" --request "$request" "${server[@]}" \
    --state-store "$store" --now "$now" --show-status=false \
    --destination edge=gateway:public --destination worker-1=environment:dev \
    --env "PROMISEKIT_CONFIG=$out/config.yaml" "$@"
}
all() {
  run apiaggregator-promise.yaml "$examples/portal.yaml"
  for t in orders legacy-orders invoices; do
    run apiaggregatortarget-promise.yaml "$examples/$t.yaml"
  done
}

# columns prints what `kubectl get` shows (the CRDs' printer columns),
# from the runner's copy of each object: the given keys of the stage's own
# status key.
columns() {
  local plural=$1; shift
  printf '%-13s %-14s' NAMESPACE NAME; printf ' %-36s' "$@" | tr a-z A-Z; echo
  for f in "$store"/.platform/apiaggregator.promisekit.io/"$plural"/*/*.yaml; do
    printf '%-13s %-14s' "$(basename "$(dirname "$f")")" "$(basename "$f" .yaml)"
    for key in "$@"; do
      printf ' %-36s' "$(sed -n "s/^    $key: \(.*\)$/\1/p" "$f" | head -n 1)"
    done
    echo
  done
}

# message prints a request's status.message from the runner's copy.
# A long message is folded onto more lines, each indented further.
message() { # plural namespace name
  awk '/^  message: /{m=substr($0, 12); on=1; next} on && /^    /{sub(/^ +/, ""); m=m " " $0; next} {on=0} END{gsub(/^'"'"'|'"'"'$/, "", m); print m}' \
    "$store/.platform/apiaggregator.promisekit.io/$1/$2/$3.yaml"
}

echo "-- a team applies its target before the platform's aggregator exists: it waits"
run apiaggregatortarget-promise.yaml "$examples/orders.yaml"
echo "   status.message: $(message apiaggregatortargets team-orders orders)"
if find "$store" -path '*/orders/*' -not -path '*/.platform/*' | grep -q .; then
  echo "unexpected: the waiting target wrote output" >&2
  exit 1
fi
echo
echo "-- the aggregator and three targets from two namespaces (the waiting one converges)"
all
echo "   team-orders/orders status.message: $(message apiaggregatortargets team-orders orders)"
echo
echo "-- the state store, as Argo CD reads it (everything on destination 'edge')"
(cd "$store" && find . -type f -not -path './.platform/*' | sort)
echo
for f in gateway_gateways_portal.yaml httproute_team-orders_legacy-orders.yaml backendtrafficpolicy_team-billing_invoices.yaml; do
  echo "-- $(find "$store" -name "$f" -not -path '*/.platform/*')"
  cat "$(find "$store" -name "$f" -not -path '*/.platform/*')"
  echo
done
if [ -n "${API_SERVER:-}" ]; then
  echo "-- kubectl get apiaggregators -A   (the API server's Table, kubectl's printer)"
  "$bin/demo-apiserver" get -dir "$API_SERVER" -A apiaggregators
  echo
  echo "-- kubectl get apiaggregatortargets -A"
  "$bin/demo-apiserver" get -dir "$API_SERVER" -A apiaggregatortargets
else
  echo "-- kubectl get apiaggregators,apiaggregatortargets -A"
  columns apiaggregators hostname
  columns apiaggregatortargets aggregator paths
fi

echo
echo "-- a newer target claims /orders, which team-orders/orders holds: refused"
cat > "$out/rogue.yaml" <<'YAML'
apiVersion: apiaggregator.promisekit.io/v1alpha1
kind: ApiAggregatorTarget
metadata:
  name: rogue
  namespace: team-billing
spec:
  aggregatorRef: {name: portal, namespace: platform}
  service: {name: rogue, port: 80}
  paths:
  - prefix: /orders
YAML
now=2026-11-02T09:01:00Z
# The API server stamps creation times in seconds, and a tie goes to the
# first namespace/name (rogue's): the rogue comes a second later.
if [ -n "${API_SERVER:-}" ]; then sleep 1; fi
run apiaggregatortarget-promise.yaml "$out/rogue.yaml" | sed 's/^/   /'
echo "   kubectl get apiaggregatortarget rogue -n team-billing -o jsonpath='{.status.message}':"
echo "   $(message apiaggregatortargets team-billing rogue)"
if find "$store" -path '*/rogue/*' -not -path '*/.platform/*' | grep -q .; then
  echo "unexpected: the refused target wrote output" >&2
  exit 1
fi
run apiaggregatortarget-promise.yaml "$out/rogue.yaml" --action delete >/dev/null
echo "   (no output was written; the request is deleted again)"

echo
echo "-- re-runs, as Kratix schedules them: the same bytes"
cp -r "$store" "$out/run1"
now=2026-11-02T09:02:00Z
all >/dev/null
if diff -r --exclude .platform "$out/run1" "$store" >/dev/null; then
  echo "state store unchanged: yes"
else
  echo "state store unchanged: NO" >&2
  diff -r --exclude .platform "$out/run1" "$store" >&2 || true
  exit 1
fi
