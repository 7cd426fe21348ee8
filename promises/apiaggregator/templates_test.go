package apiaggregator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/stagetest"
)

// templateCases render the templates directly, one stage and gateway
// implementation at a time, with data values that use every optional
// value the implementation supports. Their golden files
// (testdata/golden/templates/<implementation>/<case>/documents.yaml) show a platform
// engineer what each template set writes, without running a stage.
var templateCases = []struct {
	name           string
	implementation string
	stage          string
	values         stageValues
}{
	{"aggregator-gateway", EnvoyGateway, aggregatorTemplates, fullAggregator(nil, clientIP{TrustedHops: new(int32(2))})},
	{"aggregator-listenerset", EnvoyGateway, aggregatorTemplates, fullAggregator(&GatewayRef{Namespace: "gateways", Name: "shared"}, clientIP{TrustedCIDRs: []string{"10.0.0.0/8", "2001:db8::/32"}})},
	{"target", EnvoyGateway, targetTemplates, fullTarget(true)},
	{"aggregator-gateway", KGateway, aggregatorTemplates, fullAggregator(nil, clientIP{TrustedHops: new(int32(1))})},
	{"target", KGateway, targetTemplates, fullTarget(true)},
	{"aggregator-gateway", Traefik, aggregatorTemplates, fullAggregator(nil, clientIP{})},
	{"target", Traefik, targetTemplates, fullTarget(true)},
	{"target-aggregator-limit", Traefik, targetTemplates, fullTarget(false)},
	{"aggregator-gateway", NoImplementation, aggregatorTemplates, fullAggregator(nil, clientIP{})},
	{"target", NoImplementation, targetTemplates, fullTarget(false)},
}

// fullAggregator is an aggregator's values with every optional value set
// (clientIP only when it has a setting).
func fullAggregator(shared *GatewayRef, ip clientIP) *aggregatorValues {
	v := aggregatorValues{
		Name: "portal", Namespace: "gateways",
		Hostname:          "api.example.com",
		Labels:            map[string]string{labelAggregator: "portal"},
		Annotations:       map[string]string{"cert-manager.io/cluster-issuer": "letsencrypt"},
		CertificateSecret: "portal-tls",
		ListenerHTTP:      listenerHTTP,
		ListenerHTTPS:     listenerHTTPS,
		RouteNamespaces:   routeNamespaces{Names: []string{"team-orders"}, MatchLabels: map[string]string{"gateway-access": "portal"}},
		PolicyTarget:      policyTarget{Kind: "Gateway", Name: "portal"},
		BodySize:          &bodySize{Limit: "1Mi", Bytes: 1 << 20},
	}
	if shared != nil {
		v.SharedGateway = shared
		v.PolicyTarget.Kind = "ListenerSet"
	} else {
		v.GatewayClassName = "eg"
	}
	if ip.TrustedHops != nil || ip.TrustedCIDRs != nil {
		v.ClientIP = &ip
	}
	return &v
}

// fullTarget is a target's values: twenty paths (two routes), a rewrite,
// timeouts, a Service in another namespace, and its own request-body
// limit or its aggregator's (inherited).
func fullTarget(ownLimit bool) *targetValues {
	spec := targetSpec{Timeouts: &routeTimeouts{Request: "30s", BackendRequest: "10s"}}
	for i := range 20 {
		spec.Paths = append(spec.Paths, pathRule{Prefix: fmt.Sprintf("/orders/p%02d", i)})
	}
	spec.Paths[0].Rewrite = "/"
	v := targetValues{
		Name: "orders", Namespace: "team-orders",
		Labels:         map[string]string{labelAggregator: "portal", labelTarget: "orders"},
		Parent:         parentRef{Kind: "Gateway", Namespace: "gateways", Name: "portal", SectionName: listenerHTTPS},
		Backend:        backendValues{Name: "orders", Namespace: "shared-services", Port: 8080},
		Timeouts:       spec.Timeouts,
		Routes:         spec.routeLayout("orders"),
		ReferenceGrant: &referenceGrant{Namespace: "shared-services"},
		BodySize:       &bodySize{Limit: "1Mi", Bytes: 1 << 20, Inherited: true},
	}
	if ownLimit {
		v.BodySize = &bodySize{Limit: "20Mi", Bytes: 20 << 20}
	}
	return &v
}

// TestTemplates renders every template set against its golden file
// (go test -run TestTemplates -update rewrites them) and validates every
// document against its CRD, as a cluster would take it. Rendering twice
// must give the same bytes.
func TestTemplates(t *testing.T) {
	c, err := checker()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range templateCases {
		t.Run(tc.implementation+"/"+tc.name, func(t *testing.T) {
			docs, err := renderStage(tc.stage, tc.implementation, tc.values)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			for _, d := range docs {
				y, err := yaml.JSONToYAML(d)
				if err != nil {
					t.Fatal(err)
				}
				for _, problem := range c.Check(y) {
					t.Errorf("%s: %s", y[:bytes.IndexByte(y, '\n')], problem)
				}
				out.WriteString("---\n")
				out.Write(y)
			}
			again, err := renderStage(tc.stage, tc.implementation, tc.values)
			if err != nil || !slices.EqualFunc(docs, again, func(a, b json.RawMessage) bool { return bytes.Equal(a, b) }) {
				t.Errorf("a second render differs (err %v)", err)
			}
			dir := path.Join("testdata", "golden", "templates", tc.implementation, tc.name)
			stagetest.CompareGolden(t, dir, map[string][]byte{"documents.yaml": out.Bytes()}, *update)
		})
	}
}

// TestImplementationTemplates keeps the list of implementations and the
// template directories in step: every implementation but "none" has a
// target set (a target must be able to carry its limit), and every
// directory is an implementation the configuration accepts.
func TestImplementationTemplates(t *testing.T) {
	entries, err := fs.ReadDir(templates, "templates/implementations")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !slices.Contains(implementations, e.Name()) {
			t.Errorf("templates/implementations/%s: not an implementation config.implementation accepts", e.Name())
		}
	}
	for _, impl := range implementations {
		_, err := fs.Stat(templates, path.Join("templates/implementations", impl, targetTemplates))
		if impl == NoImplementation {
			if err == nil {
				t.Errorf("implementation %q has templates", impl)
			}
			continue
		}
		if err != nil {
			t.Errorf("implementation %q: %v", impl, err)
		}
	}
}
