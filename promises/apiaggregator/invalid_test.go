package apiaggregator

import (
	"bytes"
	"context"
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/stagetest"
	"github.com/promisekit/promisekit/pkg/kratix"
)

// invalidCase is a bad request: an example with one change. The stage must
// refuse it with one line that names field; unless stageOnly, the Promise's
// CRD must refuse it at admission too, naming the same field.
type invalidCase struct {
	field  string
	mutate func(obj map[string]any)
	// stageOnly marks rules that need the platform (its configuration or
	// its other objects) and so cannot be CEL rules.
	stageOnly bool
	// crdField is the field the CRD names when it differs from the
	// stage's (list-map keys, root rules).
	crdField string
}

func set(path string, value any) func(map[string]any) {
	return func(obj map[string]any) {
		keys := strings.Split(path, ".")
		m := obj
		for _, k := range keys[:len(keys)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
		if value == nil {
			delete(m, keys[len(keys)-1])
		} else {
			m[keys[len(keys)-1]] = value
		}
	}
}

func setPath(i int, key string, value any) func(map[string]any) {
	return func(obj map[string]any) {
		paths := obj["spec"].(map[string]any)["paths"].([]any)
		paths[i].(map[string]any)[key] = value
	}
}

var invalidTargets = []invalidCase{
	{field: "metadata.name", mutate: set("metadata.name", "orders.v2"), crdField: "<object>"},
	{field: "spec.aggregatorRef.name", mutate: set("spec.aggregatorRef.name", "Portal")},
	{field: "spec.aggregatorRef.namespace", mutate: set("spec.aggregatorRef.namespace", "platform_")},
	{field: "spec.service.name", mutate: set("spec.service.name", "1orders")},
	{field: "spec.service.name", mutate: set("spec.service.name", nil)},
	{field: "spec.service.port", mutate: set("spec.service.port", 0)},
	{field: "spec.service.port", mutate: set("spec.service.port", 70000)},
	{field: "spec.service.port", mutate: set("spec.service.port", "http")},
	{field: "spec.service.namespace", mutate: set("spec.service.namespace", "shared-services"), stageOnly: true},
	{field: "spec.paths", mutate: set("spec.paths", []any{})},
	{field: "spec.paths", mutate: set("spec.paths", nil)},
	{field: "spec.paths[0].prefix", mutate: setPath(0, "prefix", "orders")},
	{field: "spec.paths[0].prefix", mutate: setPath(0, "prefix", "/orders/")},
	{field: "spec.paths[0].prefix", mutate: setPath(0, "prefix", "/a/../b")},
	{field: "spec.paths[1].prefix", mutate: setPath(1, "prefix", "/orders"), crdField: "spec.paths[1]"},
	{field: "spec.paths[1].rewrite", mutate: setPath(1, "rewrite", "v2/orders")},
	{field: "spec.paths[1].prefx", mutate: setPath(1, "prefx", "/x"), crdField: "spec.paths[1].prefx"},
	{field: "spec.timeouts.request", mutate: set("spec.timeouts.request", "30 seconds")},
	{field: "spec.timeouts.backendRequest", mutate: set("spec.timeouts.backendRequest", "1m"), crdField: "spec.timeouts"},
	{field: "spec.maxRequestBodySize", mutate: set("spec.maxRequestBodySize", "10MB")},
	{field: "spec.maxRequestBodySize", mutate: set("spec.maxRequestBodySize", "4Gi")},
	{field: "spec.color", mutate: set("spec.color", "blue")},
}

var invalidAggregators = []invalidCase{
	{field: "metadata.name", mutate: set("metadata.name", "portal.v2"), crdField: "<object>"},
	{field: "spec.hostname", mutate: set("spec.hostname", "*.example.com")},
	{field: "spec.hostname", mutate: set("spec.hostname", "10.1.2.3")},
	{field: "spec.hostname", mutate: set("spec.hostname", nil)},
	{field: "spec.tls", mutate: set("spec.tls.secretName", "portal-cert")},
	{field: "spec.tls", mutate: set("spec.tls", nil), stageOnly: true}, // no platform issuer
	{field: "spec.tls.issuer.kind", mutate: set("spec.tls.issuer.kind", "Vault")},
	{field: "spec.tls.secretName", mutate: func(obj map[string]any) {
		set("spec.tls", map[string]any{"secretName": "Portal Cert"})(obj)
	}},
	{field: "spec.routeNamespaces", mutate: set("spec.routeNamespaces", map[string]any{})},
	{field: "spec.routeNamespaces.names[1]", mutate: set("spec.routeNamespaces.names", []any{"team-a", "Team-B"})},
	{field: "spec.routeNamespaces.names[1]", mutate: set("spec.routeNamespaces.names", []any{"team-a", "team-a"})},
	{field: "spec.routeNamespaces.matchLabels[team name]", mutate: set("spec.routeNamespaces.matchLabels", map[string]any{"team name": "x"}), crdField: "spec.routeNamespaces.matchLabels"},
	{field: "spec.maxRequestBodySize", mutate: set("spec.maxRequestBodySize", "1.5Mi")},
	{field: "spec.clientIP", mutate: set("spec.clientIP", map[string]any{})},
	{field: "spec.clientIP", mutate: set("spec.clientIP", map[string]any{"trustedHops": 2, "trustedCIDRs": []any{"10.0.0.0/8"}})},
	{field: "spec.clientIP.trustedHops", mutate: set("spec.clientIP", map[string]any{"trustedHops": 0})},
	{field: "spec.clientIP.trustedHops", mutate: set("spec.clientIP", map[string]any{"trustedHops": 33})},
	{field: "spec.clientIP.trustedCIDRs", mutate: set("spec.clientIP", map[string]any{"trustedCIDRs": []any{}})},
	{field: "spec.clientIP.trustedCIDRs[0]", mutate: set("spec.clientIP", map[string]any{"trustedCIDRs": []any{"10.0.0.1/8"}})},
	{field: "spec.clientIP.trustedCIDRs[0]", mutate: set("spec.clientIP", map[string]any{"trustedCIDRs": []any{"proxies"}})},
	{field: "spec.clientIP.trustedCIDRs[1]", mutate: set("spec.clientIP", map[string]any{"trustedCIDRs": []any{"10.0.0.0/8", "10.0.0.0/8"}})},
}

// TestInvalidRequests shows, for every field, that a bad value is refused
// by the stage with one line naming the field (and by the CRD), and that the
// refused run leaves the output of the earlier good run untouched: Kratix
// keeps serving what was there.
func TestInvalidRequests(t *testing.T) {
	for _, set := range []struct {
		example string
		cases   []invalidCase
	}{
		{"examples/orders.yaml", invalidTargets},
		{"examples/portal.yaml", invalidAggregators},
	} {
		for _, tc := range set.cases {
			t.Run(tc.field, func(t *testing.T) {
				p := newPlatform(t, "")
				h := p.request(readFile(t, "examples/portal.yaml"))
				p.configure(h)
				if set.example != "examples/portal.yaml" {
					h = p.request(readFile(t, set.example))
				}
				root := t.TempDir()
				dirs := kratix.Paths{
					InputFile:   filepath.Join(root, "input", "object.yaml"),
					OutputDir:   filepath.Join(root, "output"),
					MetadataDir: filepath.Join(root, "metadata"),
				}
				good := h.RunIn(context.Background(), kratix.ActionConfigure, dirs)
				if good.Err != nil {
					t.Fatalf("good request: %v", good.Err)
				}
				before := stagetest.ReadTree(t, dirs.OutputDir)
				beforeMeta := stagetest.ReadTree(t, dirs.MetadataDir)

				tc.mutate(h.Object)
				bad := h.RunIn(context.Background(), kratix.ActionConfigure, dirs)
				if bad.Err == nil {
					t.Fatal("the stage accepted the bad request")
				}
				line := kratix.OneLine(bad.Err)
				if !strings.HasPrefix(line, tc.field+":") {
					t.Errorf("error %q does not start with the field %s", line, tc.field)
				}
				if after := stagetest.ReadTree(t, dirs.OutputDir); !maps.EqualFunc(before, after, bytes.Equal) {
					t.Error("the refused run changed the earlier output")
				}
				if after := stagetest.ReadTree(t, dirs.MetadataDir); !maps.EqualFunc(beforeMeta, after, bytes.Equal) {
					t.Error("the refused run changed the earlier metadata")
				}

				if tc.stageOnly {
					return
				}
				data, err := yaml.Marshal(h.Object)
				if err != nil {
					t.Fatal(err)
				}
				problems := promiseValidator(t, kindOf(t, data)).Validate(data)
				want := tc.field
				if tc.crdField != "" {
					want = tc.crdField
				}
				found := false
				for _, pr := range problems {
					found = found || strings.HasPrefix(pr, want+":") || strings.HasPrefix(pr, want+"[")
				}
				if !found {
					t.Errorf("the CRD did not refuse %s; its problems: %q", want, problems)
				}
				t.Logf("stage: %s\n CRD: %q", line, problems)
			})
		}
	}
}

// TestImplementationRefusals shows that a request asking for what the
// platform's gateway implementation cannot do for it alone is refused,
// naming the field and saying why, instead of being rendered as something
// the gateway ignores or applies to every aggregator.
func TestImplementationRefusals(t *testing.T) {
	const (
		traefik = "implementation: traefik\ngatewayClassName: traefik\n"
		kgw     = "implementation: kgateway\ngatewayClassName: kgateway\n"
	)
	tests := []struct {
		name, config, request string
		want                  string
	}{
		{"Traefik client IP", traefik, "testdata/requests/edge-hops.yaml",
			"spec.clientIP: Traefik trusts proxies per entry point"},
		{"kgateway trusted CIDRs", kgw, "testdata/requests/edge-cidrs.yaml",
			"spec.clientIP.trustedCIDRs: kgateway counts trusted hops only"},
		{"kgateway on a shared Gateway", kgw + "sharedGateway: {namespace: gateways, name: shared}\n", "testdata/requests/edge-hops.yaml",
			"spec.clientIP: kgateway sets client-IP detection for a whole Gateway, and this aggregator shares the platform's"},
		{"no implementation", "implementation: none\n", "testdata/requests/edge-hops.yaml",
			"spec.clientIP: the platform's gateway implementation is not one this promise configures"},
		{"Traefik aggregator limit without the platform API", traefik + "platformAPI: \"off\"\n", "examples/portal.yaml",
			"spec.maxRequestBodySize: with Traefik, an aggregator's limit is applied by each target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPlatform(t, tt.config)
			out := p.request(readFile(t, tt.request)).Configure(context.Background())
			if out.Err == nil || !strings.HasPrefix(kratix.OneLine(out.Err), tt.want) {
				t.Fatalf("error = %v, want %q", out.Err, tt.want)
			}
		})
	}
}
