package apiaggregator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/stagetest"
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/platformapi"
)

// rogue is a target in another namespace that claims /orders, which the
// orders example already holds.
const rogueYAML = `apiVersion: apiaggregator.promisekit.io/v1alpha1
kind: ApiAggregatorTarget
metadata:
  name: rogue
  namespace: team-billing
spec:
  aggregatorRef: {name: portal, namespace: platform}
  service: {name: rogue, port: 80}
  paths:
  - prefix: /rogue
  - prefix: /orders
`

// TestConflictReportedOnNewerUntilRemoved follows a conflict through its
// life: the newer target fails on every run, naming the older one, while
// the older one keeps rendering the path; once the older target gives the
// prefix up, or is deleted, the newer one renders it.
func TestConflictReportedOnNewerUntilRemoved(t *testing.T) {
	for _, resolve := range []string{"older target drops the prefix", "older target is deleted"} {
		t.Run(resolve, func(t *testing.T) {
			p := newServerPlatform(t, targetRules(t))
			p.mustConfigure(p.request(readFile(t, "examples/portal.yaml")))
			orders := p.request(readFile(t, "examples/orders.yaml"))
			ordersOut := p.mustConfigure(orders)
			waitPastCreation(t, orders)
			rogue := p.request([]byte(rogueYAML))

			for run := range 3 {
				out := rogue.Configure(t.Context())
				if out.Err == nil {
					t.Fatalf("run %d: the newer target rendered a prefix the older one holds", run)
				}
				line := kratix.OneLine(out.Err)
				for _, want := range []string{"spec.paths[1].prefix", `"/orders"`, "ApiAggregatorTarget team-orders/orders"} {
					if !strings.Contains(line, want) {
						t.Errorf("run %d: error %q does not mention %s", run, line, want)
					}
				}
				if len(out.Files) != 0 || out.StatusYAML != nil {
					t.Errorf("run %d: the failed run wrote output or status", run)
				}
				// The older target is not disturbed by the newer claim.
				again := p.mustConfigure(orders)
				if !maps.EqualFunc(ordersOut.Files, again.Files, bytes.Equal) {
					t.Errorf("run %d: the older target's output changed", run)
				}
			}

			if resolve == "older target is deleted" {
				if out := orders.Delete(t.Context()); out.Err != nil {
					t.Fatal(out.Err)
				}
				p.remove(orders)
			} else {
				var spec map[string]any
				if err := yaml.Unmarshal([]byte("aggregatorRef: {name: portal, namespace: platform}\nservice: {name: orders, port: 8080}\npaths:\n- prefix: /v1/orders\n"), &spec); err != nil {
					t.Fatal(err)
				}
				orders.Object["spec"] = spec
				p.mustConfigure(orders)
			}
			out := p.mustConfigure(rogue)
			if !bytes.Contains(out.Files["httproute_team-billing_rogue.yaml"], []byte("value: /orders")) {
				t.Errorf("the freed prefix was not rendered: %s", out.Files["httproute_team-billing_rogue.yaml"])
			}
			if d := p.denied.All(); len(d) > 0 {
				t.Errorf("calls outside the Promise's rules: %v", d)
			}
		})
	}
}

// A target that attaches to another aggregator may use the same prefix
// (against a real API server).
func TestSamePrefixOnAnotherAggregator(t *testing.T) {
	p := newServerPlatform(t, targetRules(t))
	p.mustConfigure(p.request(readFile(t, "examples/portal.yaml")))
	other := strings.NewReplacer("name: portal", "name: partners", "api.example.com", "partners.example.com").Replace(string(readFile(t, "examples/portal.yaml")))
	p.mustConfigure(p.request([]byte(other)))
	orders := p.request(readFile(t, "examples/orders.yaml"))
	p.mustConfigure(orders)
	// Newer than orders, as it would have to be to lose a conflict.
	waitPastCreation(t, orders)
	p.mustConfigure(p.request([]byte(strings.Replace(rogueYAML, "name: portal", "name: partners", 1))))
	if d := p.denied.All(); len(d) > 0 {
		t.Errorf("calls outside the Promise's rules: %v", d)
	}
}

// TestTargetNeedsItsAggregator runs against a real API server: a target
// whose aggregator is missing, not configured yet, closed to its namespace
// or written by a newer release fails, saying which.
func TestTargetNeedsItsAggregator(t *testing.T) {
	tests := []struct {
		name      string
		aggregate func(p *serverPlatform)
		want      string
	}{
		{"missing", func(p *serverPlatform) {}, "spec.aggregatorRef: ApiAggregator platform/portal does not exist"},
		{"not configured yet", func(p *serverPlatform) { p.request(readFile(t, "examples/portal.yaml")) }, "ApiAggregator platform/portal has not been configured yet"},
		{"namespace not admitted", func(p *serverPlatform) {
			h := p.request(bytes.Replace(readFile(t, "examples/portal.yaml"), []byte("- team-orders\n"), nil, 1))
			if out := p.configure(h); out.Err != nil {
				t.Fatal(out.Err)
			}
		}, `spec.aggregatorRef: ApiAggregator platform/portal does not admit routes from namespace "team-orders"`},
		{"status from a newer release", func(p *serverPlatform) {
			h := p.request(readFile(t, "examples/portal.yaml"))
			h.Object["status"] = map[string]any{"apiAggregator": map[string]any{"schemaVersion": 9}}
			if _, err := p.srv.Apply(t.Context(), h.Object); err != nil {
				t.Fatal(err)
			}
		}, "status.apiAggregator: schema version 9 was written by a newer release"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newServerPlatform(t, targetRules(t))
			tt.aggregate(p)
			out := p.request(readFile(t, "examples/orders.yaml")).Configure(t.Context())
			if out.Err == nil || !strings.Contains(kratix.OneLine(out.Err), tt.want) {
				t.Fatalf("error = %v, want %q", out.Err, tt.want)
			}
			if d := p.denied.All(); len(d) > 0 {
				t.Errorf("calls outside the Promise's rules: %v", d)
			}
		})
	}
}

// With the platform API off, a target renders from the platform
// configuration alone and says that its prefixes were not checked.
func TestPlatformAPIOff(t *testing.T) {
	p := newPlatform(t, "platformAPI: \"off\"\ngatewayNamespace: gateways\n")
	h := p.request([]byte(rogueYAML))
	out := p.configure(h)
	checkDocuments(t, out)
	if p.connects != 0 {
		t.Errorf("the stage connected to the platform API %d times", p.connects)
	}
	route := string(out.Files["httproute_team-billing_rogue.yaml"])
	if !strings.Contains(route, "namespace: gateways") {
		t.Errorf("the route does not attach to the configured gateway namespace:\n%s", route)
	}
	if !strings.Contains(string(out.StatusYAML), "conflictCheck: 'skipped: the platform API is off'") {
		t.Errorf("status does not say the check was skipped:\n%s", out.StatusYAML)
	}
}

// The local runner's mode: the platform API is a directory of objects.
func TestLocalPlatformAPI(t *testing.T) {
	dir := t.TempDir()
	p := newPlatform(t, "")
	agg := p.request(readFile(t, "examples/portal.yaml"))
	p.configure(agg)
	orders := p.request(readFile(t, "examples/orders.yaml"))
	rogue := p.request([]byte(rogueYAML))
	for _, h := range []*stagetest.Harness{agg, orders, rogue} {
		meta := h.Object["metadata"].(map[string]any)
		file, err := platformapi.LocalPath(dir, resourceOf(h.Object["kind"].(string)), meta["namespace"].(string), meta["name"].(string))
		if err != nil {
			t.Fatal(err)
		}
		data, _ := yaml.Marshal(h.Object)
		os.MkdirAll(filepath.Dir(file), 0o755)
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range []*stagetest.Harness{orders, rogue} {
		h.Workflows = Workflows(func(func(string) string, ...platformapi.Option) (platformapi.API, error) {
			return platformapi.NewDir(dir), nil
		})
		h.Env = map[string]string{kratix.ConfigVariable: p.env[kratix.ConfigVariable]}
	}
	if out := orders.Configure(context.Background()); out.Err != nil {
		t.Fatalf("orders: %v", out.Err)
	}
	if out := rogue.Configure(context.Background()); out.Err == nil || !strings.Contains(out.Err.Error(), "team-orders/orders") {
		t.Fatalf("rogue: error = %v, want the conflict with team-orders/orders", out.Err)
	}
}

// Without any platform API the stage fails with one clear line rather than
// rendering unchecked routes.
func TestNoPlatformAPI(t *testing.T) {
	p := newPlatform(t, "")
	p.configure(p.request(readFile(t, "examples/portal.yaml")))
	h := p.request(readFile(t, "examples/orders.yaml"))
	h.Workflows = Workflows(func(getenv func(string) string, opts ...platformapi.Option) (platformapi.API, error) {
		return platformapi.NewInCluster(getenv, opts...)
	})
	out := h.Configure(context.Background())
	if out.Err == nil || !strings.Contains(kratix.OneLine(out.Err), "no platform API") {
		t.Fatalf("error = %v, want one saying there is no platform API", out.Err)
	}
}

// An API server that refuses or fails is an error that names the call;
// a refused list is never mistaken for "no siblings".
func TestPlatformAPIErrors(t *testing.T) {
	p := newPlatform(t, "")
	p.configure(p.request(readFile(t, "examples/portal.yaml")))
	h := p.request(readFile(t, "examples/orders.yaml"))
	h.Workflows = Workflows(func(func(string) string, ...platformapi.Option) (platformapi.API, error) {
		return platformapi.NewServer(p.api.URL(), "wrong-token", p.api.HTTPClient()), nil
	})
	out := h.Configure(context.Background())
	if out.Err == nil || !strings.Contains(out.Err.Error(), "reading ApiAggregator platform/portal") {
		t.Fatalf("error = %v", out.Err)
	}
	h.Workflows = Workflows(func(func(string) string, ...platformapi.Option) (platformapi.API, error) {
		return nil, errors.New("no token mounted")
	})
	out = h.Configure(context.Background())
	if out.Err == nil || !strings.Contains(out.Err.Error(), "connecting to the platform API: no token mounted") {
		t.Fatalf("error = %v", out.Err)
	}
}

// The fake API server answers 403 to anything the Promise does not grant,
// so every test above passing shows that the granted list calls are enough.
// This shows that they are also needed: without them the stage fails.
func TestPromiseGrantsAreNeeded(t *testing.T) {
	grants := promiseGrants(t)
	if len(grants) != 2 {
		t.Fatalf("the target Promise grants %v; want list on the two resources", grants)
	}
	for _, g := range grants {
		if g.Verb != "list" || g.Group != Group {
			t.Errorf("unexpected grant %+v", g)
		}
	}
	p := newPlatform(t, "")
	p.configure(p.request(readFile(t, "examples/portal.yaml")))
	p.configure(p.request(readFile(t, "examples/orders.yaml")))
	for _, r := range p.api.Requests() {
		if !strings.HasPrefix(r, "GET /apis/"+Group+"/v1alpha1/") {
			t.Errorf("unexpected call %s", r)
		}
	}
}

// Delete workflows write nothing, call nothing, and say what happens.
func TestDelete(t *testing.T) {
	for _, file := range []string{"examples/portal.yaml", "examples/orders.yaml"} {
		p := newPlatform(t, "")
		h := p.request(readFile(t, file))
		h.Workflows = Workflows(func(func(string) string, ...platformapi.Option) (platformapi.API, error) {
			t.Error("a delete workflow connected to the platform API")
			return nil, errors.New("not in delete")
		})
		out := h.Delete(context.Background())
		if out.Err != nil {
			t.Fatal(out.Err)
		}
		if len(out.Files) != 0 || out.Selectors != nil {
			t.Errorf("%s: delete wrote output", file)
		}
		if !strings.Contains(string(out.StatusYAML), "Kratix removes its manifests") {
			t.Errorf("%s: status = %s", file, out.StatusYAML)
		}
	}
}

func TestWrongKind(t *testing.T) {
	p := newPlatform(t, "")
	for _, tt := range []struct{ from, to, want string }{
		{"kind: ApiAggregatorTarget", "kind: ApiGateway", `kind "ApiGateway" is neither`},
		{"apiaggregator.promisekit.io/v1alpha1", "apiaggregator.promisekit.io/v2", `apiVersion "apiaggregator.promisekit.io/v2"`},
	} {
		obj := strings.Replace(string(readFile(t, "examples/orders.yaml")), tt.from, tt.to, 1)
		h := stagetest.New(t, "apiaggregator", Workflows(p.connect), workflowOf(t, KindTarget), []byte(obj))
		if out := h.Configure(context.Background()); out.Err == nil || !strings.Contains(out.Err.Error(), tt.want) {
			t.Errorf("error = %v, want %q", out.Err, tt.want)
		}
	}
}

// TestParallelRenders runs every example's stage many times at once (run
// it with -race): ytt's package-level state, which the aggregator's render
// uses, is serialised by pkg/render, and every concurrent result must equal
// the sequential one.
func TestParallelRenders(t *testing.T) {
	p := newPlatform(t, string(readFile(t, "testdata/config-envoy-gateway.yaml")))
	kinds := map[string]string{
		"examples/portal.yaml":        KindAggregator,
		"examples/orders.yaml":        KindTarget,
		"examples/legacy-orders.yaml": KindTarget,
		"examples/invoices.yaml":      KindTarget,
	}
	files := slices.Sorted(maps.Keys(kinds))
	// The aggregator first, then every target stored before any is
	// configured, so that each sees all the others as the parallel runs do.
	want := map[string]*stagetest.Outcome{}
	want["examples/portal.yaml"] = p.configure(p.request(readFile(t, "examples/portal.yaml")))
	harnesses := map[string]*stagetest.Harness{}
	for _, f := range files {
		if kinds[f] == KindTarget {
			harnesses[f] = p.request(readFile(t, f))
		}
	}
	for f, h := range harnesses {
		want[f] = p.configure(h)
	}
	for i := range 12 {
		f := files[i%len(files)]
		t.Run(fmt.Sprintf("%d-%s", i, filepath.Base(f)), func(t *testing.T) {
			t.Parallel()
			h := stagetest.New(t, "apiaggregator", Workflows(p.connect), workflowOf(t, kinds[f]), readFile(t, f))
			h.Object = deepCopyObject(t, p, f, kinds[f])
			h.Env = p.env
			out := h.Configure(context.Background())
			if out.Err != nil {
				t.Fatal(out.Err)
			}
			if !maps.EqualFunc(out.Files, want[f].Files, bytes.Equal) || !bytes.Equal(out.StatusYAML, want[f].StatusYAML) {
				t.Error("a concurrent run differs from the sequential one")
			}
		})
	}
}

// deepCopyObject returns the object the platform holds for an example file.
func deepCopyObject(t *testing.T, p *testPlatform, file, kind string) map[string]any {
	t.Helper()
	var obj map[string]any
	if err := yaml.Unmarshal(readFile(t, file), &obj); err != nil {
		t.Fatal(err)
	}
	meta := obj["metadata"].(map[string]any)
	api := targetsAPI
	if kind == KindAggregator {
		api = aggregatorsAPI
	}
	objs, err := p.api.Client().List(context.Background(), api, meta["namespace"].(string))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.Metadata.Name == meta["name"] {
			data, _ := yaml.Marshal(o)
			var stored map[string]any
			if err := yaml.Unmarshal(data, &stored); err != nil {
				t.Fatal(err)
			}
			delete(stored, "status")
			return stored
		}
	}
	t.Fatalf("%s is not stored", file)
	return nil
}
