package apiaggregator

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/apiserver"
	"github.com/promisekit/promisekit/internal/kratixsim"
	"github.com/promisekit/promisekit/internal/stagetest"
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/platformapi"
	"github.com/promisekit/promisekit/promises/apiaggregator/internal/fakeapi"
	"github.com/promisekit/promisekit/promises/apiaggregator/internal/gatewaycheck"
)

// testPlatform is a platform cluster for stage tests: a fake API server
// that allows exactly what the target Promise's pipeline is granted, the
// platform configuration, and a clock for creation timestamps.
type testPlatform struct {
	t   *testing.T
	api *fakeapi.Server
	env map[string]string
	// connects counts how often a stage asked for the platform API.
	mu       sync.Mutex
	connects int
	created  time.Time
}

// t0 is when the first object of a test platform was created.
var t0 = time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)

// newPlatform starts a platform whose configuration file holds configYAML
// ("" for no file: the embedded defaults).
func newPlatform(t *testing.T, configYAML string) *testPlatform {
	t.Helper()
	p := &testPlatform{
		t:       t,
		api:     fakeapi.New(t, promiseGrants(t)...),
		env:     map[string]string{kratix.ConfigVariable: filepath.Join(t.TempDir(), "config.yaml")},
		created: t0,
	}
	// An empty file is the defaults.
	if err := os.WriteFile(p.env[kratix.ConfigVariable], []byte(configYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// connect is the stage's Connect: the fake API server's client.
func (p *testPlatform) connect(func(string) string, ...platformapi.Option) (platformapi.API, error) {
	p.mu.Lock()
	p.connects++
	p.mu.Unlock()
	return p.api.Client(), nil
}

// request creates an object from YAML as the API server would: with a
// creation timestamp one minute after the previous object's and a UID, and
// stored so that other stages can list it. It returns the harness that runs
// the object's stage.
func (p *testPlatform) request(objectYAML []byte) *stagetest.Harness {
	p.t.Helper()
	var obj map[string]any
	if err := yaml.Unmarshal(objectYAML, &obj); err != nil {
		p.t.Fatal(err)
	}
	meta := obj["metadata"].(map[string]any)
	meta["creationTimestamp"] = p.created.Format(time.RFC3339)
	meta["uid"] = "uid-" + meta["namespace"].(string) + "-" + meta["name"].(string)
	p.created = p.created.Add(time.Minute)
	data, err := yaml.Marshal(obj)
	if err != nil {
		p.t.Fatal(err)
	}
	h := stagetest.New(p.t, "apiaggregator", Workflows(p.connect), workflowOf(p.t, obj["kind"].(string)), data)
	h.Env = p.env
	p.store(h)
	return h
}

// store puts the harness's object, with its current status, in the API.
func (p *testPlatform) store(h *stagetest.Harness) {
	p.t.Helper()
	data, err := yaml.Marshal(h.Object)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := p.api.Put(resourceOf(h.Object["kind"].(string)), data); err != nil {
		p.t.Fatal(err)
	}
}

// configure runs the object's configure workflow, fails the test if it
// fails, and stores the object with its new status.
func (p *testPlatform) configure(h *stagetest.Harness) *stagetest.Outcome {
	p.t.Helper()
	out := h.Configure(context.Background())
	if out.Err != nil {
		p.t.Fatalf("configure %s: %v", objectName(h), out.Err)
	}
	p.store(h)
	return out
}

func objectName(h *stagetest.Harness) string {
	meta := h.Object["metadata"].(map[string]any)
	return h.Object["kind"].(string) + " " + meta["namespace"].(string) + "/" + meta["name"].(string)
}

func resourceOf(kind string) platformapi.Resource {
	if kind == KindAggregator {
		return aggregatorsAPI
	}
	return targetsAPI
}

// workflowOf is the configure workflow of kind's Promise, as declared in
// the Promise file.
func workflowOf(t testing.TB, kind string) kratixsim.Workflow {
	t.Helper()
	wf, err := kratixsim.ReadWorkflow(promiseFile(kind), kratix.ActionConfigure)
	if err != nil {
		t.Fatal(err)
	}
	return wf
}

// promiseFile is the Promise that offers kind.
func promiseFile(kind string) string {
	return strings.ToLower(kind) + "-promise.yaml"
}

// promise is the part of a Promise file the tests read.
type promise struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		API struct {
			Spec struct {
				Group string `json:"group"`
				Names struct {
					Kind   string `json:"kind"`
					Plural string `json:"plural"`
				} `json:"names"`
			} `json:"spec"`
		} `json:"api"`
		Workflows struct {
			Resource struct {
				Configure []pipeline `json:"configure"`
				Delete    []pipeline `json:"delete"`
			} `json:"resource"`
		} `json:"workflows"`
	} `json:"spec"`
}

type pipeline struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Containers []struct {
			Name  string `json:"name"`
			Image string `json:"image"`
		} `json:"containers"`
		RBAC struct {
			Permissions []struct {
				APIGroups         []string `json:"apiGroups"`
				Resources         []string `json:"resources"`
				Verbs             []string `json:"verbs"`
				ResourceNamespace string   `json:"resourceNamespace"`
			} `json:"permissions"`
		} `json:"rbac"`
	} `json:"spec"`
}

func readPromiseFile(kind string) ([]byte, error) {
	return os.ReadFile(promiseFile(kind))
}

func readPromise(t testing.TB, kind string) promise {
	t.Helper()
	data, err := readPromiseFile(kind)
	if err != nil {
		t.Fatal(err)
	}
	var p promise
	if err := yaml.Unmarshal(data, &p); err != nil {
		t.Fatalf("%s: %v", promiseFile(kind), err)
	}
	return p
}

// promiseGrants are the permissions the target Promise's configure
// pipeline asks Kratix for, cluster-wide ones only: the stage lists across
// namespaces, so a namespaced grant would not do.
func promiseGrants(t testing.TB) []fakeapi.Grant {
	t.Helper()
	var grants []fakeapi.Grant
	for _, perm := range readPromise(t, KindTarget).Spec.Workflows.Resource.Configure[0].Spec.RBAC.Permissions {
		if perm.ResourceNamespace != "*" {
			continue
		}
		for _, g := range perm.APIGroups {
			for _, r := range perm.Resources {
				for _, v := range perm.Verbs {
					grants = append(grants, fakeapi.Grant{Group: g, Resource: r, Verb: v})
				}
			}
		}
	}
	return grants
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// checker is built once per test binary: compiling the Gateway API CRDs'
// CEL rules takes most of a second.
var checker = sync.OnceValues(gatewaycheck.New)

// checkDocuments validates every output document of a run against the Go
// types and CRDs of its kind.
func checkDocuments(t *testing.T, out *stagetest.Outcome) {
	t.Helper()
	c, err := checker()
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range out.Files {
		for _, problem := range c.Check(data) {
			t.Errorf("%s: %s", name, problem)
		}
	}
}

// serverPlatform is a platform cluster whose API server is a real one
// (internal/apiserver): objects stored as the cluster stores them, each
// stage's calls authorized against exactly its own Promise's
// rbac.permissions (rules is the target Promise's; the aggregator
// Promise's are read from its file), and every call recorded.
type serverPlatform struct {
	t        *testing.T
	srv      *apiserver.Server
	env      map[string]string
	rules    []apiserver.Rule
	aggRules []apiserver.Rule
	denied   apiserver.Denials
	mu       sync.Mutex
	queries  []string
}

func newServerPlatform(t *testing.T, rules []apiserver.Rule) *serverPlatform {
	t.Helper()
	p := &serverPlatform{
		t:        t,
		srv:      api.For(t, promiseFile(KindAggregator), promiseFile(KindTarget)),
		env:      map[string]string{kratix.ConfigVariable: stagetest.EmptyConfig(t)},
		rules:    rules,
		aggRules: promiseRules(t, KindAggregator),
	}
	return p
}

// targetRules is what the target Promise's configure pipeline is granted.
func targetRules(t testing.TB) []apiserver.Rule {
	t.Helper()
	rules := promiseRules(t, KindTarget)
	if len(rules) == 0 {
		t.Fatal("the target Promise grants its pipeline nothing")
	}
	return rules
}

// promiseRules is what kind's Promise grants its configure pipeline.
func promiseRules(t testing.TB, kind string) []apiserver.Rule {
	t.Helper()
	data, err := readPromiseFile(kind)
	if err != nil {
		t.Fatal(err)
	}
	rules, _, err := apiserver.PromiseRules(data, kratix.ActionConfigure, "")
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

// connect is a stage's Connect: a client for the server through rules.
func (p *serverPlatform) connect(rules []apiserver.Rule) Outside {
	return func(func(string) string, ...platformapi.Option) (platformapi.API, error) {
		return p.client(rules)
	}
}

func (p *serverPlatform) client(rules []apiserver.Rule) (platformapi.API, error) {
	return p.srv.PlatformClient(func(next http.RoundTripper) http.RoundTripper {
		return apiserver.RuleTransport(rules, "", p.denied.Add, roundTripFunc(func(req *http.Request) (*http.Response, error) {
			resp, err := next.RoundTrip(req)
			if err == nil {
				p.mu.Lock()
				p.queries = append(p.queries, fmt.Sprintf("%s %s?%s -> %d", req.Method, req.URL.Path, req.URL.RawQuery, resp.StatusCode))
				p.mu.Unlock()
			}
			return resp, err
		}))
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// request creates the object on the server and returns the harness that
// runs its stage, holding the object as the server stored it.
func (p *serverPlatform) request(objectYAML []byte) *stagetest.Harness {
	p.t.Helper()
	obj, err := p.srv.Create(p.t.Context(), objectYAML)
	if err != nil {
		p.t.Fatal(err)
	}
	data, err := yaml.Marshal(obj.Object)
	if err != nil {
		p.t.Fatal(err)
	}
	rules := p.rules
	if obj.GetKind() == KindAggregator {
		rules = p.aggRules
	}
	h := stagetest.New(p.t, "apiaggregator", Workflows(p.connect(rules)), workflowOf(p.t, obj.GetKind()), data)
	h.Env = p.env
	return h
}

// configure runs the object's configure workflow and writes its status
// to the server, as Kratix's status writer does; it returns the outcome.
func (p *serverPlatform) configure(h *stagetest.Harness) *stagetest.Outcome {
	p.t.Helper()
	out := h.Configure(p.t.Context())
	if out.Err == nil {
		if _, err := p.srv.Apply(p.t.Context(), h.Object); err != nil {
			p.t.Fatal(err)
		}
	}
	return out
}

// mustConfigure is configure for a run that must succeed.
func (p *serverPlatform) mustConfigure(h *stagetest.Harness) *stagetest.Outcome {
	p.t.Helper()
	out := p.configure(h)
	if out.Err != nil {
		p.t.Fatalf("configure %s: %v", objectName(h), out.Err)
	}
	return out
}

// store writes the object, status included, to the server, as a team (or
// anyone who can write status) would.
func (p *serverPlatform) store(h *stagetest.Harness) {
	p.t.Helper()
	if _, err := p.srv.Apply(p.t.Context(), h.Object); err != nil {
		p.t.Fatal(err)
	}
}

// calls are the platform API calls made so far, with their answers.
func (p *serverPlatform) calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.queries)
}

// remove deletes the object from the server, as Kratix does once its
// delete pipeline has run.
func (p *serverPlatform) remove(h *stagetest.Harness) {
	p.t.Helper()
	dyn, err := p.srv.Dynamic()
	if err != nil {
		p.t.Fatal(err)
	}
	meta := h.Object["metadata"].(map[string]any)
	r := resourceOf(h.Object["kind"].(string))
	gvr := schema.GroupVersionResource{Group: r.Group, Version: r.Version, Resource: r.Plural}
	if err := dyn.Resource(gvr).Namespace(meta["namespace"].(string)).Delete(p.t.Context(), meta["name"].(string), metav1.DeleteOptions{}); err != nil {
		p.t.Fatal(err)
	}
}

// waitPastCreation waits until the second after h's object was created:
// the server's timestamps are in seconds, and Gateway API breaks a tie by
// namespace/name, so an object meant to be newer must be created later.
func waitPastCreation(t *testing.T, h *stagetest.Harness) {
	t.Helper()
	created, err := time.Parse(time.RFC3339, h.Object["metadata"].(map[string]any)["creationTimestamp"].(string))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(created.Add(time.Second)))
}

// TestStagesAgainstAPIServer runs an aggregator and its targets through
// their stages with a real API server as the platform API, each call
// authorized by the target Promise's rules: the target reads its
// aggregator, lists only its aggregator's targets (a field selector the
// server serves), and the newer of two targets claiming a prefix is
// refused.
func TestStagesAgainstAPIServer(t *testing.T) {
	p := newServerPlatform(t, targetRules(t))
	if out := p.configure(p.request(readFile(t, "examples/portal.yaml"))); out.Err != nil {
		t.Fatal(out.Err)
	}
	// Another aggregator's target, which the field selector leaves out.
	other := strings.NewReplacer("name: portal", "name: partners", "api.example.com", "partners.example.com").Replace(string(readFile(t, "examples/portal.yaml")))
	if out := p.configure(p.request([]byte(other))); out.Err != nil {
		t.Fatal(out.Err)
	}
	partnerOrders := strings.NewReplacer("name: portal", "name: partners", "name: rogue", "name: partner-orders").Replace(rogueYAML)
	if out := p.configure(p.request([]byte(partnerOrders))); out.Err != nil {
		t.Fatalf("a target of the other aggregator: %v", out.Err)
	}
	orders := p.request(readFile(t, "examples/orders.yaml"))
	out := p.configure(orders)
	if out.Err != nil {
		t.Fatal(out.Err)
	}
	if !strings.Contains(string(out.StatusYAML), "checked against 0 other targets of platform/portal") {
		t.Errorf("orders' status does not say it was checked against no other target of portal:\n%s", out.StatusYAML)
	}
	if out := p.configure(p.request(readFile(t, "examples/invoices.yaml"))); out.Err != nil {
		t.Fatal(out.Err)
	}

	// The rogue target is created after orders, and claims /orders.
	waitPastCreation(t, orders)
	rogue := p.request([]byte(rogueYAML))
	out = rogue.Configure(t.Context())
	if out.Err == nil {
		t.Fatal("the newer target rendered a prefix the older one holds")
	}
	line := kratix.OneLine(out.Err)
	for _, want := range []string{"spec.paths[1].prefix", `"/orders"`, "ApiAggregatorTarget team-orders/orders"} {
		if !strings.Contains(line, want) {
			t.Errorf("error %q does not mention %s", line, want)
		}
	}

	if d := p.denied.All(); len(d) > 0 {
		t.Errorf("calls outside the Promise's rules:\n%s", strings.Join(d, "\n"))
	}
	selected := 0
	calls := p.calls()
	for _, q := range calls {
		if strings.Contains(q, "/apiaggregatortargets?") {
			if !strings.Contains(q, "fieldSelector=spec.aggregatorRef.name%3D") || !strings.HasSuffix(q, "-> 200") {
				t.Errorf("a target list the server did not select: %s", q)
			}
			selected++
		}
	}
	if selected == 0 {
		t.Errorf("no target was listed:\n%s", strings.Join(calls, "\n"))
	}
}

// TestStageRBACNegativeControl takes each single permission (one verb on
// one resource) away from the target Promise's rules in turn: the stage
// must then fail on the call that needs it, and the error must name the
// verb and the resource.
func TestStageRBACNegativeControl(t *testing.T) {
	full := targetRules(t)
	type single struct{ group, resource, verb string }
	var singles []single
	for _, r := range full {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					singles = append(singles, single{g, res, v})
				}
			}
		}
	}
	for _, drop := range singles {
		t.Run(drop.verb+"-"+drop.resource, func(t *testing.T) {
			var rules []apiserver.Rule
			for _, s := range singles {
				if s != drop {
					rules = append(rules, apiserver.Rule{ResourceNamespace: "*", APIGroups: []string{s.group}, Resources: []string{s.resource}, Verbs: []string{s.verb}})
				}
			}
			p := newServerPlatform(t, rules)
			if out := p.configure(p.request(readFile(t, "examples/portal.yaml"))); out.Err != nil {
				t.Fatal(out.Err)
			}
			out := p.request(readFile(t, "examples/orders.yaml")).Configure(t.Context())
			if out.Err == nil {
				t.Fatalf("the stage succeeded without %s on %s", drop.verb, drop.resource)
			}
			line := kratix.OneLine(out.Err)
			for _, want := range []string{"403", drop.verb + " " + drop.resource, drop.group} {
				if !strings.Contains(line, want) {
					t.Errorf("error %q does not name %q", line, want)
				}
			}
			t.Logf("without %s %s: %s", drop.verb, drop.resource, line)
			if d := p.denied.All(); len(d) != 1 || !strings.HasPrefix(d[0], drop.verb+" "+drop.resource) {
				t.Errorf("want one refused call, %s %s; got %q", drop.verb, drop.resource, d)
			}
		})
	}
}

// listAll hides the client's field selection: every list reads all
// objects, and platformapi.Where selects in Go, as the stage did before
// the target CRD declared selectableFields.
type listAll struct{ api platformapi.API }

func (l listAll) List(ctx context.Context, r platformapi.Resource, ns string) ([]*kratix.Object, error) {
	return l.api.List(ctx, r, ns)
}

func (l listAll) Delete(ctx context.Context, r platformapi.Resource, ns, name, uid string) error {
	return l.api.Delete(ctx, r, ns, name, uid)
}

// BenchmarkTargetBatchOnAPIServer runs targets against a real API server
// holding 1,000 targets spread over 10 aggregators, one target per
// iteration (-benchtime 1000x is the whole batch): with the server
// selecting a target's siblings by field (selectableFields), and listing
// all 1,000 as before. reads/ times the stage's two platform API reads
// alone, stage/ its whole configure run.
//
//	go test -run '^$' -bench 'TargetBatchOnAPIServer/reads' -benchtime 1000x ./promises/apiaggregator/
func BenchmarkTargetBatchOnAPIServer(b *testing.B) {
	srv := api.For(b, promiseFile(KindAggregator), promiseFile(KindTarget))
	ctx := b.Context()
	client, err := srv.PlatformClient(nil)
	if err != nil {
		b.Fatal(err)
	}
	env := map[string]string{kratix.ConfigVariable: stagetest.EmptyConfig(b)}
	harness := func(obj map[string]any, connect Outside) *stagetest.Harness {
		data, err := yaml.Marshal(obj)
		if err != nil {
			b.Fatal(err)
		}
		h := stagetest.New(b, "apiaggregator", Workflows(connect), workflowOf(b, obj["kind"].(string)), data)
		h.Env = env
		return h
	}
	direct := func(func(string) string, ...platformapi.Option) (platformapi.API, error) { return client, nil }
	portal := string(readFile(b, "examples/portal.yaml"))
	const aggregators, targets = 10, 1000
	for a := range aggregators {
		name := fmt.Sprintf("agg-%d", a)
		obj, err := srv.Create(ctx, []byte(strings.NewReplacer("name: portal", "name: "+name, "api.example.com", name+".example.com").Replace(portal)))
		if err != nil {
			b.Fatal(err)
		}
		h := harness(obj.Object, direct)
		if out := h.Configure(ctx); out.Err != nil {
			b.Fatal(out.Err)
		}
		if _, err := srv.Apply(ctx, h.Object); err != nil {
			b.Fatal(err)
		}
	}
	objs := make([]map[string]any, targets)
	for i := range objs {
		obj, err := srv.Create(ctx, fmt.Appendf(nil, `{apiVersion: apiaggregator.promisekit.io/v1alpha1, kind: ApiAggregatorTarget, metadata: {name: svc-%04d, namespace: %s}, spec: {aggregatorRef: {name: agg-%d, namespace: platform}, service: {name: svc-%04d, port: 8080}, paths: [{prefix: /svc-%04d/v1}, {prefix: /svc-%04d/v2}, {prefix: /svc-%04d/admin}]}}`,
			i, []string{"team-orders", "team-billing"}[i%2], i%aggregators, i, i, i, i))
		if err != nil {
			b.Fatal(err)
		}
		objs[i] = obj.Object
	}
	for _, mode := range []struct {
		name string
		api  platformapi.API
	}{
		{"selected-by-server", client},
		{"list-all", listAll{client}},
	} {
		// The platform API reads alone, as targetPlan.Act makes them.
		b.Run("reads/"+mode.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				meta := objs[i%targets]["metadata"].(map[string]any)
				ref := objectRef{Name: fmt.Sprintf("agg-%d", (i%targets)%aggregators), Namespace: "platform"}
				me := claimant{Namespace: meta["namespace"].(string), Name: meta["name"].(string)}
				if _, err := readAggregator(ctx, mode.api, ref); err != nil {
					b.Fatal(err)
				}
				mine := platformapi.Where(mode.api, platformapi.Field{Path: "spec.aggregatorRef.name", Value: ref.Name})
				siblings, err := readSiblings(ctx, mine, ref, me)
				if err != nil {
					b.Fatal(err)
				}
				if len(siblings) != targets/aggregators-1 {
					b.Fatalf("%d siblings, want %d", len(siblings), targets/aggregators-1)
				}
				i++
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/target")
		})
		b.Run("stage/"+mode.name, func(b *testing.B) {
			connect := func(func(string) string, ...platformapi.Option) (platformapi.API, error) { return mode.api, nil }
			hs := make([]*stagetest.Harness, targets)
			for i := range hs {
				hs[i] = harness(objs[i], connect)
			}
			i := 0
			for b.Loop() {
				if out := hs[i%targets].Configure(ctx); out.Err != nil {
					b.Fatal(out.Err)
				}
				i++
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/target")
		})
	}
}
