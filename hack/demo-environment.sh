#!/usr/bin/env bash
# The environment promise, locally: a namespace environment and a vcluster
# environment in ack mode (no AWS account needed), a scheduled re-run that
# changes nothing, an expired environment deleting itself, and, when
# moto_server is installed, api mode against it on 127.0.0.1.
# Usage: hack/demo-environment.sh [output-dir]   (after `make build`)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.demo/environment}
rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
promise=promises/environment/promise.yaml
examples=promises/environment/examples

run() { bin/kratix-run --promise "$promise" "$@"; }

tree() { (cd "$1" && find . -type f -not -path './.platform/*' | sort | sed 's#^\./#  #'); }

# The runs' clocks: creation, the next day, and past the preview's 48h.
# With API_SERVER (hack/demo.sh's real API server) the requests live
# there, and the expired preview deletes itself from it; the server stamps
# creation with the real time, so the clocks start from it.
t0=2026-11-01T09:00:00Z t1=2026-11-02T09:00:00Z t2=2026-11-03T10:00:00Z
ack=(--state-store "$out/ack" --env "PROMISEKIT_CONFIG=$PWD/$examples/platform/ack.yaml")
if [ -n "${API_SERVER:-}" ]; then
  start=$(date -u +%s)
  t0=$(date -u -d "@$start" +%Y-%m-%dT%H:%M:%SZ)
  t1=$(date -u -d "@$((start + 86400))" +%Y-%m-%dT%H:%M:%SZ)
  t2=$(date -u -d "@$((start + 49 * 3600))" +%Y-%m-%dT%H:%M:%SZ)
  ack+=(--api-server "$API_SERVER")
fi

echo "-- ack mode: AWS resources are declared for ACK (AWS Controllers for Kubernetes)"
run --request "$examples/preview.yaml" "${ack[@]}" --now "$t0" --show-status=false >/dev/null
run --request "$examples/development.yaml" "${ack[@]}" --now "$t0"
echo "state store:"
tree "$out/ack"

echo
echo "-- a scheduled re-run the next day changes nothing in the state store"
before=$(cd "$out/ack" && find . -type f -not -path './.platform/*' -exec sha256sum {} + | sort)
run --request "$examples/development.yaml" "${ack[@]}" --now "$t1" --show-status=false >/dev/null
after=$(cd "$out/ack" && find . -type f -not -path './.platform/*' -exec sha256sum {} + | sort)
if [ "$before" = "$after" ]; then echo "byte-identical"; else echo "CHANGED"; exit 1; fi

echo
if [ -n "${API_SERVER:-}" ]; then
  echo "-- kubectl get environments   (the API server's Table, kubectl's printer)"
  bin/demo-apiserver get -dir "$API_SERVER" environments
  echo
fi
echo "-- the preview lives 48h: on the run after that, it deletes its own request"
run --request "$examples/preview.yaml" "${ack[@]}" --now "$t2"
echo "state store:"
tree "$out/ack"
if [ -n "${API_SERVER:-}" ]; then
  echo "kubectl get environments:"
  bin/demo-apiserver get -dir "$API_SERVER" environments
fi

if ! command -v moto_server >/dev/null; then
  echo
  echo "-- api mode skipped: moto_server is not installed"
  exit 0
fi

echo
echo "-- api mode: the stage (environment-aws) calls AWS (here moto_server on 127.0.0.1)"
log="$out/moto.log"
# In a session of its own, so that stopping its process group also stops
# the Python process behind pyenv's wrapper script.
setsid moto_server -H 127.0.0.1 -p 0 >"$log" 2>&1 &
moto=$!
trap 'kill -- "-$moto" 2>/dev/null || true' EXIT
for _ in $(seq 300); do
  url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$log" | head -n1 || true)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "moto_server did not start; see $log"; exit 1; }
cat >"$out/api.yaml" <<EOF
aws:
  mode: api
  region: us-east-1
  accountID: "123456789012"
  oidcIssuer: https://oidc.eks.us-east-1.amazonaws.com/id/DEMO
EOF
# moto accepts any static credentials; these are its documented test values.
api=(--state-store "$out/api" --env "PROMISEKIT_CONFIG=$out/api.yaml" --env "AWS_ENDPOINT_URL=$url"
  --env AWS_ACCESS_KEY_ID=test --env AWS_SECRET_ACCESS_KEY=test)
inventory() {
  AWS_ENDPOINT_URL=$url python3 - <<'EOF'
import os, boto3
kw = dict(endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1",
          aws_access_key_id="test", aws_secret_access_key="test")
repos = boto3.client("ecr", **kw).describe_repositories()["repositories"]
roles = boto3.client("iam", **kw).list_roles()["Roles"]
print("  ECR repositories:", [r["repositoryName"] for r in repos] or "none")
print("  IAM roles:       ", [r["RoleName"] for r in roles] or "none")
EOF
}
run --request "$examples/development.yaml" "${api[@]}" --now 2026-11-01T09:00:00Z
inventory
run --request "$examples/development.yaml" "${api[@]}" --now 2026-11-02T09:00:00Z --show-status=false >/dev/null
echo "re-run: done (reads only; the tests count the calls)"
echo
echo "-- delete: the role's policies, the role, then the repository"
run --request "$examples/development.yaml" "${api[@]}" --action delete --now 2026-11-02T10:00:00Z
inventory
echo "state store:"
tree "$out/api"
