#!/usr/bin/env bash
# natsuser-steady.sh: a NATSUser stage's scheduled re-run written the way most
# Kratix pipelines are written today, as bash driving CLIs (yq, kubeseal).
# It is the status quo that `make bench` (cmd/pkbench/shell.go) times next to
# our Go stage (pipelines/natsuser); it is not shipped.
#
# Only the steady state is covered: the user already exists (a previous run
# created it and left its name in .status), so the run fetches the user's
# credentials, seals them into a SealedSecret, and reports status.
#
# Environment, besides Kratix's own:
#   YQ, KUBESEAL      the CLIs (default: found on PATH)
#   SEALING_CERT      the sealed-secrets controller's certificate, for
#                     offline sealing (default /etc/promisekit/sealing/cert.pem)
#   NATS_CREDS_FILE   the user's credentials. A real stage fetches them on
#                     every run (curl to Synadia Cloud, or nsc); the benchmark
#                     generates a file instead, so that the comparison times
#                     the pipeline and not a network.
set -euo pipefail

input=${KRATIX_INPUT_FILE:-/kratix/input/object.yaml}
output=${KRATIX_OUTPUT_DIR:-/kratix/output}
metadata=${KRATIX_METADATA_DIR:-/kratix/metadata}
yq=${YQ:-yq}
kubeseal=${KUBESEAL:-kubeseal}
cert=${SEALING_CERT:-/etc/promisekit/sealing/cert.pem}
creds=${NATS_CREDS_FILE:?NATS_CREDS_FILE must name the fetched credentials}

# One yq call per field, as pipelines usually read their input.
name=$("$yq" '.metadata.name' "$input")
namespace=$("$yq" '.metadata.namespace' "$input")
account=$("$yq" '.spec.account // "default"' "$input")
secret_name=$("$yq" ".spec.secret.name // \"${name}-nats\"" "$input")
secret_key=$("$yq" '.spec.secret.key // "user.creds"' "$input")
user=$("$yq" '.status.natsUser.userName // ""' "$input")
expires=$("$yq" '.status.credentialsExpireAt // ""' "$input")

if [[ -z $user ]]; then
	echo "natsuser-steady.sh: .status.natsUser.userName is empty: this script only re-runs an existing user" >&2
	exit 1
fi

# A plain Secret holding the credentials, piped straight into kubeseal so
# that it never touches a file. yq reads the variables with strenv.
export name namespace secret_name secret_key creds
sealed=$(
	"$yq" -n '
		.apiVersion = "v1" | .kind = "Secret" | .type = "Opaque" |
		.metadata.name = strenv(secret_name) |
		.metadata.namespace = strenv(namespace) |
		.metadata.labels."app.kubernetes.io/managed-by" = "promisekit-natsuser" |
		.metadata.annotations."sealedsecrets.bitnami.com/patch" = "true" |
		.data[strenv(secret_key)] = (load_str(strenv(creds)) | @base64)
	' | "$kubeseal" --cert "$cert" --format yaml
)
# Sealing is randomised: every run produces new ciphertext for the same
# credentials, so every scheduled re-run changes the file, Kratix commits
# it, and the controller rewrites the Secret (restarting what mounts it).
# Shell stages re-seal on every run because they keep no ciphertext between
# runs; that is why their output flaps. Our Go stage keeps the ciphertext in
# .status and re-emits it byte for byte.
printf '%s\n' "$sealed" >"$output/sealedsecret_${namespace}_${secret_name}.yaml"

export user account expires
"$yq" -n '
	.account = strenv(account) |
	.secretName = strenv(secret_name) |
	.credentialsExpireAt = strenv(expires) |
	.message = "NATS user " + strenv(user) + " (account " + strenv(account) + "): credentials in Secret " + strenv(secret_name) + " re-sealed"
' >"$metadata/status.yaml"
