package gatewaycheck

import (
	"strings"
	"testing"
)

const route = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: orders
  namespace: team-a
spec:
  parentRefs:
  - name: portal
    namespace: gateways
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: /orders
    backendRefs:
    - name: orders
      port: 8080
`

// TestCheck shows that the checker refuses what a cluster would refuse,
// from each source: the Go types, the OpenAPI schema and the CEL rules.
func TestCheck(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		doc  string
		want []string // substrings, one per expected problem; none for valid
	}{
		{"valid route", route, nil},
		{"unknown field", strings.Replace(route, "  rules:", "  rulez: []\n  rules:", 1), []string{"strict decode into Go type", "spec.rulez: unknown field"}},
		{"CEL: path with //", strings.Replace(route, "value: /orders", "value: /a//b", 1), []string{"must not contain '//'"}},
		{"CEL: Service without port", strings.Replace(route, "      port: 8080\n", "", 1), []string{"Must have port for Service reference"}},
		{"schema: too long name", strings.Replace(route, "name: orders\n  namespace", "name: "+strings.Repeat("o", 254)+"\n  namespace", 1), []string{"metadata.name"}},
		{"unknown kind", "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n", []string{"not a kind this checker knows"}},
		{"ReferenceGrant without targets", `apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: g, namespace: shared}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: team-a}]
  to: []
`, []string{"spec.to"}},
		{"Envoy Gateway limit not a quantity", `apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: {name: p, namespace: team-a}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: orders}]
  requestBuffer: {limit: 10MB}
`, []string{"spec.requestBuffer.limit"}},
		{"Envoy Gateway target kind", `apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: {name: p, namespace: team-a}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Service, name: orders}]
  requestBuffer: {limit: 10Mi}
`, []string{"targetRefs[*].kind"}},
		{"kgateway limit of 4Gi", `apiVersion: gateway.kgateway.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: p, namespace: team-a}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: orders}]
  buffer: {maxRequestSize: 4Gi}
`, []string{"less than 4Gi"}},
		{"Envoy Gateway hops and CIDRs", `apiVersion: gateway.envoyproxy.io/v1alpha1
kind: ClientTrafficPolicy
metadata: {name: p, namespace: gateways}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: portal}]
  clientIPDetection: {xForwardedFor: {numTrustedHops: 2, trustedCIDRs: [10.0.0.0/8]}}
`, []string{"only one of numTrustedHops or trustedCIDRs"}},
		{"kgateway listener policy on a route", `apiVersion: gateway.kgateway.dev/v1alpha1
kind: ListenerPolicy
metadata: {name: p, namespace: gateways}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: orders}]
  default: {httpSettings: {xffNumTrustedHops: 2}}
`, []string{"targetRefs may only reference Gateway"}},
		{"Traefik limit as a quantity", `apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata: {name: m, namespace: team-a}
spec:
  buffering: {maxRequestBodyBytes: 10Mi}
`, []string{"spec.buffering.maxRequestBodyBytes"}},
		{"Traefik limit in bytes", `apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata: {name: m, namespace: team-a}
spec:
  buffering: {maxRequestBodyBytes: 10485760}
`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems := c.Check([]byte(tt.doc))
			if len(tt.want) == 0 {
				if len(problems) > 0 {
					t.Fatalf("problems: %q", problems)
				}
				return
			}
			all := strings.Join(problems, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("problems %q do not mention %q", problems, w)
				}
			}
		})
	}
}
