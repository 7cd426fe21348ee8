#!/usr/bin/env bash
# apiaggregatortarget.sh: an ApiAggregatorTarget's configure stage written the
# way most Kratix pipelines are written today, as bash driving CLIs (yq,
# ytt). It is the status quo that `make bench` (cmd/pkbench/shell.go) times
# next to our Go stage (pipelines/apiaggregator); it is not shipped.
#
# It renders the promise's own ytt templates (promises/apiaggregator/
# templates: the target's set and its gateway implementation's, in one ytt
# run, as the Go stage does) and works as the Go stage does when the
# platform API is off
# (platformAPI: off): the Gateway is the aggregator's, in the aggregator's
# namespace, and prefixes are not checked against other teams'. Like most
# scripts, it checks next to nothing: no field is validated beyond what
# ytt's schema refuses, and a target with more than 16 paths (one
# HTTPRoute's limit) is refused rather than split over several routes.
#
# Environment, besides Kratix's own:
#   YQ, YTT          the CLIs (default: found on PATH)
#   TEMPLATES_DIR    the ytt templates (promises/apiaggregator/templates;
#                    default /templates)
#   IMPLEMENTATION   the gateway implementation whose request-body policy
#                    to render (default envoy-gateway)
set -euo pipefail

input=${KRATIX_INPUT_FILE:-/kratix/input/object.yaml}
output=${KRATIX_OUTPUT_DIR:-/kratix/output}
metadata=${KRATIX_METADATA_DIR:-/kratix/metadata}
yq=${YQ:-yq}
ytt=${YTT:-ytt}
templates=${TEMPLATES_DIR:-/templates}
implementation=${IMPLEMENTATION:-envoy-gateway}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One yq call per field, as pipelines usually read their input.
name=$("$yq" '.metadata.name' "$input")
namespace=$("$yq" '.metadata.namespace' "$input")
aggregator=$("$yq" '.spec.aggregatorRef.name' "$input")
aggregator_namespace=$("$yq" ".spec.aggregatorRef.namespace // \"$namespace\"" "$input")
service=$("$yq" '.spec.service.name' "$input")
service_namespace=$("$yq" ".spec.service.namespace // \"$namespace\"" "$input")
port=$("$yq" '.spec.service.port' "$input")
request_timeout=$("$yq" '.spec.timeouts.request // ""' "$input")
backend_timeout=$("$yq" '.spec.timeouts.backendRequest // ""' "$input")
body_size=$("$yq" '.spec.maxRequestBodySize // ""' "$input")
path_count=$("$yq" '.spec.paths | length' "$input")

if ((path_count == 0 || path_count > 16)); then
	echo "apiaggregatortarget.sh: spec.paths: between 1 and 16 paths are supported, not $path_count" >&2
	exit 1
fi
if [[ $service_namespace != "$namespace" ]]; then
	# The Go stage allows it only where the platform grants it.
	echo "apiaggregatortarget.sh: spec.service.namespace: Services in other namespaces are not supported" >&2
	exit 1
fi

# The data values, shaped as templates/target/schema.yml declares them. An
# optional value is left out rather than written as null, as the Go stage
# does: the schema's nullable default stands in for it.
cat >"$work/values.yml" <<EOF
name: $name
namespace: $namespace
labels:
  apiaggregator.promisekit.io/aggregator: $aggregator
  apiaggregator.promisekit.io/target: $name
parent:
  kind: Gateway
  namespace: $aggregator_namespace
  name: $aggregator
  sectionName: https
backend:
  name: $service
  port: $port
EOF
if [[ -n $request_timeout || -n $backend_timeout ]]; then
	echo "timeouts:" >>"$work/values.yml"
	[[ -z $request_timeout ]] || echo "  request: \"$request_timeout\"" >>"$work/values.yml"
	[[ -z $backend_timeout ]] || echo "  backendRequest: \"$backend_timeout\"" >>"$work/values.yml"
fi
# The paths, copied by yq: one route named after the target, whose rules
# are the paths as they are ({prefix, rewrite}).
export name
"$yq" '{"routes": [{"name": strenv(name), "rules": .spec.paths}]}' "$input" >>"$work/values.yml"

# The parts of the templates this request uses, as the Go stage picks
# them: the schema and the routes, and the implementation's request-body
# policy when the target sets a limit.
parts=(-f "$templates/target/schema.yml" -f "$templates/target/httproutes.yml")
if [[ -n $body_size ]]; then
	case $body_size in
	*Ki) bytes=$((${body_size%Ki} * 1024)) ;;
	*Mi) bytes=$((${body_size%Mi} * 1024 * 1024)) ;;
	*Gi) bytes=$((${body_size%Gi} * 1024 * 1024 * 1024)) ;;
	*) bytes=$body_size ;;
	esac
	printf 'bodySize:\n  limit: "%s"\n  bytes: %d\n' "$body_size" "$bytes" >>"$work/values.yml"
	parts+=(-f "$templates/implementations/$implementation/target/bodySize")
fi

"$ytt" --strict "${parts[@]}" --data-values-file "$work/values.yml" >"$work/manifests.yml"

# One file per document, named <kind>_<namespace>_<name>.yml.
export output
(cd "$work" && "$yq" -s 'strenv(output) + "/" + (.kind | downcase) + "_" + .metadata.namespace + "_" + .metadata.name' manifests.yml)

export aggregator aggregator_namespace service namespace port
"$yq" '{
	"apiAggregatorTarget": {
		"schemaVersion": 1,
		"aggregator": strenv(aggregator_namespace) + "/" + strenv(aggregator),
		"paths": ([.spec.paths[].prefix] | join(" ")),
		"routes": [strenv(name)],
		"conflictCheck": "skipped: the platform API is off"
	},
	"message": (.spec.paths | length | tostring) + " paths routed to Service " + strenv(namespace) + "/" + strenv(service) + " port " + strenv(port) + " through Gateway " + strenv(aggregator_namespace) + "/" + strenv(aggregator)
}' "$input" >"$metadata/status.yaml"
