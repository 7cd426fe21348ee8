package apiaggregator

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/promisekit/promisekit/pkg/render"
)

// shellTemplates are the ytt templates of the shell-script stage that
// `make bench` times against ours. They must give the documents the Go
// stage builds, or the comparison would not be of the same work.
const shellTemplates = "../../bench/shell/templates"

// The templates' data values, as their schema.yml files declare them.
type (
	routesValues struct {
		Namespace      string                `json:"namespace"`
		Labels         map[string]string     `json:"labels"`
		Parent         parentRef             `json:"parent"`
		Backend        backendValues         `json:"backend"`
		Timeouts       *timeoutValues        `json:"timeouts,omitempty"`
		Routes         []routeValues         `json:"routes"`
		ReferenceGrant *referenceGrantValues `json:"referenceGrant,omitempty"`
	}
	backendValues struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace,omitempty"`
		Port      int32  `json:"port"`
	}
	timeoutValues struct {
		Request        string `json:"request,omitempty"`
		BackendRequest string `json:"backendRequest,omitempty"`
	}
	routeValues struct {
		Name  string       `json:"name"`
		Rules []ruleValues `json:"rules"`
	}
	ruleValues struct {
		Prefix  string `json:"prefix"`
		Rewrite string `json:"rewrite,omitempty"`
	}
	referenceGrantValues struct {
		Name          string `json:"name"`
		Namespace     string `json:"namespace"`
		FromNamespace string `json:"fromNamespace"`
		ServiceName   string `json:"serviceName"`
	}
	policyValues struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace"`
		Labels    map[string]string `json:"labels"`
		Targets   []struct {
			Kind string `json:"kind"`
			Name string `json:"name"`
		} `json:"targets"`
		Limit string `json:"limit"`
	}
)

// shellRoutesValues computes the routes template's values from a request,
// as the shell script does, independently of the Go stage's builders.
func shellRoutesValues(spec targetSpec, me claimant, parent parentRef) routesValues {
	v := routesValues{
		Namespace: me.Namespace,
		Labels: map[string]string{
			"apiaggregator.promisekit.io/aggregator": parent.Name,
			"apiaggregator.promisekit.io/target":     me.Name,
		},
		Parent:  parent,
		Backend: backendValues{Name: spec.Service.Name, Port: spec.Service.Port},
	}
	if ns := spec.Service.Namespace; ns != "" && ns != me.Namespace {
		v.Backend.Namespace = ns
		v.ReferenceGrant = &referenceGrantValues{Name: me.Namespace + "." + me.Name, Namespace: ns, FromNamespace: me.Namespace, ServiceName: spec.Service.Name}
	}
	if t := spec.Timeouts; t != nil {
		v.Timeouts = &timeoutValues{Request: t.Request, BackendRequest: t.BackendRequest}
	}
	for i := 0; i < len(spec.Paths); i += 16 {
		r := routeValues{Name: me.Name}
		if i > 0 {
			r.Name = fmt.Sprintf("%s.%d", me.Name, i/16+1)
		}
		for _, p := range spec.Paths[i:min(i+16, len(spec.Paths))] {
			r.Rules = append(r.Rules, ruleValues(p))
		}
		v.Routes = append(v.Routes, r)
	}
	return v
}

func TestShellTemplatesGiveTheSameDocuments(t *testing.T) {
	routesTemplates := loadShellTemplates(t, "routes")
	me := claimant{Namespace: "team-orders", Name: "orders"}
	parent := parentRef{Kind: "Gateway", Namespace: "gateways", Name: "portal", SectionName: listenerHTTPS}
	many := make([]pathRule, 40)
	for i := range many {
		many[i] = pathRule{Prefix: fmt.Sprintf("/orders/p%02d", i)}
		if i%3 == 0 {
			many[i].Rewrite = fmt.Sprintf("/v%d", i)
		}
	}
	specs := map[string]targetSpec{
		"one path": {Service: serviceRef{Name: "orders", Port: 8080}, Paths: []pathRule{{Prefix: "/orders"}}},
		"rewrite and timeouts": {
			Service:  serviceRef{Name: "orders", Port: 80},
			Paths:    []pathRule{{Prefix: "/legacy/orders", Rewrite: "/orders"}, {Prefix: "/legacy/carts"}},
			Timeouts: &routeTimeouts{Request: "30s", BackendRequest: "10s"},
		},
		"request timeout only": {Service: serviceRef{Name: "orders", Port: 80}, Paths: []pathRule{{Prefix: "/a"}}, Timeouts: &routeTimeouts{Request: "1m"}},
		"service elsewhere":    {Service: serviceRef{Name: "billing", Namespace: "team-billing", Port: 9000}, Paths: []pathRule{{Prefix: "/invoices"}}},
		"forty paths":          {Service: serviceRef{Name: "orders", Port: 8080}, Paths: many},
	}
	for name, spec := range specs {
		t.Run(name, func(t *testing.T) {
			routes := spec.routes(me, parent)
			grant := spec.referenceGrant(me, parent)
			objs := []any{}
			for _, r := range routes {
				objs = append(objs, r)
			}
			if grant != nil {
				objs = append(objs, grant)
			}
			got := encodeAll(t, objs...)
			want, err := routesTemplates.Render(shellRoutesValues(spec, me, parent))
			if err != nil {
				t.Fatal(err)
			}
			sameDocuments(t, got, want)
		})
	}

	for _, impl := range []string{EnvoyGateway, KGateway} {
		t.Run("policy "+impl, func(t *testing.T) {
			meta := objectMeta{Name: "orders", Namespace: "team-orders", Labels: targetLabels(me, parent)}
			targets := []policyTarget{{Group: gatewayGroup, Kind: httpRouteKind, Name: "orders"}, {Group: gatewayGroup, Kind: httpRouteKind, Name: "orders.2"}}
			policy, err := newBodySizePolicy(impl, meta, targets, "24Mi")
			if err != nil {
				t.Fatal(err)
			}
			got := encodeAll(t, policy)
			v := policyValues{Name: meta.Name, Namespace: meta.Namespace, Labels: meta.Labels, Limit: "24Mi"}
			for _, tg := range targets {
				v.Targets = append(v.Targets, struct {
					Kind string `json:"kind"`
					Name string `json:"name"`
				}{tg.Kind, tg.Name})
			}
			want, err := loadShellTemplates(t, filepath.Join("policies", impl)).Render(v)
			if err != nil {
				t.Fatal(err)
			}
			sameDocuments(t, got, want)
		})
	}
}

func encodeAll(t *testing.T, objs ...any) []json.RawMessage {
	t.Helper()
	var docs []json.RawMessage
	for _, o := range objs {
		js, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, js)
	}
	return docs
}

func loadShellTemplates(t *testing.T, set string) *render.Templates {
	t.Helper()
	tpl, err := render.Load(os.DirFS(shellTemplates), set)
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// sameDocuments compares documents as JSON values: key order is not
// meaningful, and kratix.Write sorts keys when it writes YAML.
func sameDocuments(t *testing.T, got, want []json.RawMessage) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d documents, the templates give %d", len(got), len(want))
	}
	for i := range got {
		var g, w any
		if err := json.Unmarshal(got[i], &g); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(want[i], &w); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("document %d:\n got  %s\n want %s", i, got[i], want[i])
		}
	}
}
