package environment

import (
	"context"
	"encoding/json"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/stagetest"
	"github.com/promisekit/promisekit/pkg/kratix"
)

// Two clusters in ack mode with EKS Pod Identity: each has its own name to
// EKS and its own ingress controllers; eu-1 is the default.
const placementACK = `
aws:
  mode: ack
  accountID: "111122223333"
  podIdentity: {enabled: true}
destinations:
  - name: eu-1
    matchLabels: {cluster: eu-1}
    requestable: true
    namespace: {ingressNamespaces: [ingress-eu]}
    aws: {podIdentity: {clusterName: eks-eu-1}}
  - name: us-1
    matchLabels: {cluster: us-1, region: us}
    requestable: true
    namespace: {ingressNamespaces: [ingress-us, gateways]}
    aws: {podIdentity: {clusterName: eks-us-1}}
defaultDestination: eu-1
`

// placedOn checks that every document of out is in dest's directory, that
// the selector sends that directory to dest's cluster alone, and that the
// environment's ingress and Pod Identity are that cluster's.
func placedOn(t *testing.T, out *stagetest.Outcome, dest string, labels map[string]string, ingress []string, clusterName string) {
	t.Helper()
	if out.Err != nil {
		t.Fatal(out.Err)
	}
	if len(out.Files) == 0 {
		t.Fatal("no output")
	}
	for name := range out.Files {
		if !strings.HasPrefix(name, dest+"/") {
			t.Errorf("%s is not in %s's directory", name, dest)
		}
	}
	var sels []kratix.DestinationSelector
	if err := yaml.UnmarshalStrict(out.Selectors, &sels); err != nil {
		t.Fatalf("destination-selectors.yaml: %v\n%s", err, out.Selectors)
	}
	if want := []kratix.DestinationSelector{{Directory: dest, MatchLabels: labels}}; !reflect.DeepEqual(sels, want) {
		t.Errorf("destination selectors %+v, want %+v", sels, want)
	}

	var policy struct {
		Spec struct {
			Ingress []struct {
				From []struct {
					NamespaceSelector *struct {
						MatchExpressions []struct {
							Values []string `json:"values"`
						} `json:"matchExpressions"`
					} `json:"namespaceSelector"`
				} `json:"from"`
			} `json:"ingress"`
		} `json:"spec"`
	}
	file := dest + "/networkpolicy_default-checkout-preview_allow-environment-and-ingress.yaml"
	if err := yaml.Unmarshal(out.Files[file], &policy); err != nil || len(policy.Spec.Ingress) != 1 {
		t.Fatalf("%s: %v\n%s", file, err, out.Files[file])
	}
	var got []string
	for _, from := range policy.Spec.Ingress[0].From {
		if s := from.NamespaceSelector; s != nil {
			got = append(got, s.MatchExpressions[0].Values...)
		}
	}
	if !slices.Equal(got, ingress) {
		t.Errorf("ingress allowed from namespaces %v, want %s's %v", got, dest, ingress)
	}

	var association struct {
		Spec struct {
			ClusterName string `json:"clusterName"`
		} `json:"spec"`
	}
	file = dest + "/podidentityassociation_ack-system_default-checkout-preview.yaml"
	if err := yaml.Unmarshal(out.Files[file], &association); err != nil || association.Spec.ClusterName != clusterName {
		t.Errorf("%s: cluster %q (%v), want %s", file, association.Spec.ClusterName, err, clusterName)
	}
}

// TestPlacementFollowsDestination: an environment's manifests go to its
// destination's directory with a selector for that cluster, and what
// differs per cluster (its name to EKS Pod Identity, its ingress
// namespaces) is that destination's.
func TestPlacementFollowsDestination(t *testing.T) {
	config := writeConfig(t, placementACK)
	eu := newPipeline(t, request(t, "examples/preview.yaml", nil), config, nil)
	first := eu.Configure(context.Background())
	placedOn(t, first, "eu-1", map[string]string{"cluster": "eu-1"}, []string{"ingress-eu"}, "eks-eu-1")
	if got := eu.Status()["destination"]; got != "eu-1" {
		t.Errorf("status.destination %v", got)
	}
	if again := eu.Configure(context.Background()); !equalFiles(again.Files, first.Files) || string(again.StatusYAML) != string(first.StatusYAML) {
		t.Error("a re-run changed the output or status")
	}

	us := newPipeline(t, request(t, "examples/preview.yaml", setSpec("destination", "us-1")), config, nil)
	placedOn(t, us.Configure(context.Background()), "us-1", map[string]string{"cluster": "us-1", "region": "us"}, []string{"ingress-us", "gateways"}, "eks-us-1")

	// A destination that sets no ingress namespaces has the platform's.
	inherit := writeConfig(t, strings.Replace(placementACK, "    namespace: {ingressNamespaces: [ingress-eu]}\n", "", 1))
	h := newPipeline(t, request(t, "examples/preview.yaml", nil), inherit, nil)
	placedOn(t, h.Configure(context.Background()), "eu-1", map[string]string{"cluster": "eu-1"}, []string{"ingress-nginx"}, "eks-eu-1")
}

// TestPlacementNoMoveInACKMode: in ack mode the ECR repository and IAM
// role are ACK resources on the destination, so a move would have ACK on
// the old cluster delete them while ACK on the new one creates them: it is
// refused, on the field that asked for it, and the earlier output stays.
func TestPlacementNoMoveInACKMode(t *testing.T) {
	config := writeConfig(t, placementACK)
	h := newPipeline(t, request(t, "examples/preview.yaml", nil), config, nil)
	placedOn(t, h.Configure(context.Background()), "eu-1", map[string]string{"cluster": "eu-1"}, []string{"ingress-eu"}, "eks-eu-1")

	h.Object["spec"].(map[string]any)["destination"] = "us-1"
	out := h.Configure(context.Background())
	if out.Err == nil || !strings.HasPrefix(out.Err.Error(), "spec.destination: environment default/checkout-preview is on destination eu-1 and cannot move to us-1 in ack mode") {
		t.Fatalf("error %v", out.Err)
	}

	delete(h.Object["spec"].(map[string]any), "destination")
	h.Env[kratix.ConfigVariable] = writeConfig(t, strings.Replace(placementACK, "defaultDestination: eu-1", "defaultDestination: us-1", 1))
	out = h.Configure(context.Background())
	if out.Err == nil || !strings.HasPrefix(out.Err.Error(), "config.defaultDestination: environment default/checkout-preview is on destination eu-1 and cannot move to us-1") {
		t.Fatalf("error %v", out.Err)
	}
}

// TestPlacementMoveInAPIMode: in api mode the stage keeps the IAM role
// itself, so an environment may move: its manifests go to the new
// cluster's directory, and the role's trust policy names the new cluster's
// OIDC issuer (IRSA) instead of the old one's.
func TestPlacementMoveInAPIMode(t *testing.T) {
	f := newAWSFixture(t)
	ctx := context.Background()
	const issuerA, issuerB = "https://oidc.eks.us-east-1.amazonaws.com/id/CLUSTERA", "https://oidc.eks.us-east-1.amazonaws.com/id/CLUSTERB"
	config := writeConfig(t, `
aws:
  mode: api
  region: us-east-1
  accountID: "123456789012"
destinations:
  - {name: cluster-a, matchLabels: {cluster: a}, requestable: true, aws: {oidcIssuer: `+issuerA+`}}
  - {name: cluster-b, matchLabels: {cluster: b}, requestable: true, aws: {oidcIssuer: `+issuerB+`}}
defaultDestination: cluster-a
`)
	h := newPipeline(t, request(t, "examples/preview.yaml", nil), config, nil)
	maps.Copy(h.Env, f.env)
	trust := func() string {
		t.Helper()
		out, err := f.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("env-default-checkout-preview")})
		if err != nil {
			t.Fatal(err)
		}
		doc, err := url.QueryUnescape(aws.ToString(out.Role.AssumeRolePolicyDocument))
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatalf("trust policy %q: %v", doc, err)
		}
		return doc
	}
	hostOf := func(issuer string) string { return strings.TrimPrefix(issuer, "https://") }

	first := h.Configure(ctx)
	if first.Err != nil {
		t.Fatal(first.Err)
	}
	if doc := trust(); !strings.Contains(doc, hostOf(issuerA)) {
		t.Fatalf("trust policy on cluster-a: %s", doc)
	}

	h.Object["spec"].(map[string]any)["destination"] = "cluster-b"
	moved := h.Configure(ctx)
	if moved.Err != nil {
		t.Fatal(moved.Err)
	}
	for name := range moved.Files {
		if !strings.HasPrefix(name, "cluster-b/") {
			t.Errorf("%s is not in cluster-b's directory", name)
		}
	}
	if len(moved.Files) != len(first.Files) {
		t.Errorf("%d files after the move, %d before", len(moved.Files), len(first.Files))
	}
	if doc := trust(); !strings.Contains(doc, hostOf(issuerB)) || strings.Contains(doc, hostOf(issuerA)) {
		t.Errorf("trust policy after the move to cluster-b: %s", doc)
	}
	if got := h.Status()["destination"]; got != "cluster-b" {
		t.Errorf("status.destination %v", got)
	}
}

// TestPlacementConfig: every mistake in config.destinations names its
// field.
func TestPlacementConfig(t *testing.T) {
	const ackPI = "aws: {mode: ack, accountID: \"111122223333\", podIdentity: {enabled: true}}\n"
	const ackIRSA = "aws: {mode: ack, accountID: \"111122223333\"}\n"
	const a = "{name: a, matchLabels: {cluster: a}, requestable: true}"
	// The rules every promise's destinations share are package placement's
	// (and its tests'); a repeated name shows they are applied here.
	tests := []struct {
		name, file, want string
	}{
		{"valid without AWS", "destinations: [" + a + ", {name: b, matchLabels: {cluster: b}}]\ndefaultDestination: b\n", ""},
		{"valid with Pod Identity", ackPI + "destinations: [{name: a, matchLabels: {cluster: a}, requestable: true, aws: {podIdentity: {clusterName: eks-a}}}]\n", ""},
		{"repeated name", "destinations: [" + a + ", {name: a, matchLabels: {cluster: b}}]", "config.destinations[1].name: repeats config.destinations[0].name"},
		{"bad ingress namespace", "destinations: [{name: a, matchLabels: {cluster: a}, requestable: true, namespace: {ingressNamespaces: [ok, Not_OK]}}]", `config.destinations[0].namespace.ingressNamespaces[1]: "Not_OK" is not a namespace name`},
		{"Pod Identity without the cluster's name", ackPI + "destinations: [" + a + "]\n", "config.destinations[0].aws.podIdentity.clusterName: required when Pod Identity is enabled"},
		{"IRSA without the cluster's issuer", ackIRSA + "destinations: [" + a + "]\n", "config.destinations[0].aws.oidcIssuer: required for IRSA"},
		{"one cluster name for every destination", "aws: {mode: ack, accountID: \"111122223333\", podIdentity: {enabled: true, clusterName: eks}}\ndestinations: [{name: a, matchLabels: {cluster: a}, requestable: true, aws: {podIdentity: {clusterName: eks-a}}}]\n", "config.aws.podIdentity.clusterName: with config.destinations, each destination names its cluster"},
		{"one issuer for every destination", "aws: {mode: ack, accountID: \"111122223333\", oidcIssuer: https://o}\ndestinations: [{name: a, matchLabels: {cluster: a}, requestable: true, aws: {oidcIssuer: https://a}}]\n", "config.aws.oidcIssuer: with config.destinations"},
		{"unknown field", "destinations: [{name: a, matchLabels: {cluster: a}, requestable: true, aws: {region: eu-west-1}}]", "config.destinations[0].aws.region: unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(writeConfig(t, tt.file))
			switch {
			case tt.want == "" && err != nil:
				t.Fatal(err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestPlacementRefusals: a request naming a destination the platform does
// not offer it is refused on spec.destination and writes nothing.
func TestPlacementRefusals(t *testing.T) {
	onlyDefault := writeConfig(t, strings.Replace(placementACK, "    matchLabels: {cluster: us-1, region: us}\n    requestable: true\n", "    matchLabels: {cluster: us-1, region: us}\n", 1))
	tests := []struct {
		name, destination, config, want string
	}{
		{"unknown destination", "ap-1", writeConfig(t, placementACK), `spec.destination: "ap-1" is not a destination a request may choose on this platform (choose one of eu-1, us-1)`},
		{"destination not requestable", "us-1", onlyDefault, `spec.destination: "us-1" is not a destination a request may choose on this platform (choose one of eu-1)`},
		{"a platform of one destination", "eu-1", "", "spec.destination: this platform has one destination for every environment: leave it out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newPipeline(t, request(t, "examples/preview.yaml", setSpec("destination", tt.destination)), tt.config, nil)
			out := h.Configure(context.Background())
			if out.Err == nil || !strings.HasPrefix(out.Err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", out.Err, tt.want)
			}
			if len(out.Files) != 0 || out.Selectors != nil {
				t.Errorf("a refused run wrote %v and selectors %q", slices.Sorted(maps.Keys(out.Files)), out.Selectors)
			}
		})
	}
}
