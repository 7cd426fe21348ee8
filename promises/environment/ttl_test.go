package environment

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/apiserver"
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/platformapi"
)

// fakeAPIServer stands in for the platform's Kubernetes API server over
// TLS and records every request.
type fakeAPIServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string // "METHOD path uid=<precondition>"
}

func newFakeAPIServer(t *testing.T) *fakeAPIServer {
	t.Helper()
	f := &fakeAPIServer{}
	f.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var opts struct {
			Kind          string `json:"kind"`
			Preconditions struct {
				UID string `json:"uid"`
			} `json:"preconditions"`
		}
		json.NewDecoder(r.Body).Decode(&opts)
		f.mu.Lock()
		f.requests = append(f.requests, r.Method+" "+r.URL.Path+" uid="+opts.Preconditions.UID+" auth="+r.Header.Get("Authorization"))
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Success"}`))
	}))
	t.Cleanup(f.Close)
	return f
}

// deleteRequest deletes the request through the fake, as package outside
// does through the cluster's API server.
func (f *fakeAPIServer) deleteRequest(ctx context.Context, req *kratix.Request) error {
	api := platformapi.NewServer(f.URL, "test-token", f.Client())
	r := platformapi.Resource{Group: req.Env.ObjectGroup, Version: req.Env.ObjectVersion, Plural: req.Env.CRDPlural}
	return api.Delete(ctx, r, req.Object.Metadata.Namespace, req.Object.Metadata.Name, req.Object.Metadata.UID)
}

func (f *fakeAPIServer) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

// withoutMessage is a status without its message, which every run writes.
func withoutMessage(t *testing.T, statusYAML []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal(statusYAML, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "message")
	return m
}

// TestExpiredEnvironmentDeletesItsRequest: the preview example lives 48h
// from its creation. Before then nothing reaches the platform API; after,
// exactly one DELETE of the request, with its UID as precondition, and no
// other change: the same manifests, the same status but for the message,
// and (in api mode) not one AWS call.
func TestExpiredEnvironmentDeletesItsRequest(t *testing.T) {
	f := newAWSFixture(t)
	api := newFakeAPIServer(t)
	ctx := context.Background()
	h := newPipeline(t, request(t, "examples/preview.yaml", nil), writeConfig(t, apiConfig), api.deleteRequest)
	maps.Copy(h.Env, f.env)

	alive := h.Configure(ctx)
	if alive.Err != nil {
		t.Fatal(alive.Err)
	}
	if got := statusOf(t, h, "expiresAt"); got != "2026-11-02T09:00:00Z" {
		t.Errorf("status.expiresAt = %v, want the creation time plus 48h", got)
	}
	if got := api.seen(); len(got) != 0 {
		t.Fatalf("a live environment called the platform API: %q", got)
	}

	h.Now = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC) // the moment it expires
	f.proxy.Reset()
	expired := h.Configure(ctx)
	if expired.Err != nil {
		t.Fatal(expired.Err)
	}
	want := []string{"DELETE /apis/platform.promisekit.dev/v1alpha1/namespaces/default/environments/checkout-preview uid=" + testUID + " auth=Bearer test-token"}
	if got := api.seen(); !slices.Equal(got, want) {
		t.Errorf("platform API requests:\n got %q\nwant %q", got, want)
	}
	if calls := f.proxy.Calls(); len(calls) != 0 {
		t.Errorf("the expired run called AWS: %v", calls)
	}
	if !equalFiles(expired.Files, alive.Files) {
		t.Error("the expired run changed the manifests")
	}
	if a, b := withoutMessage(t, alive.StatusYAML), withoutMessage(t, expired.StatusYAML); !mapsEqualJSON(a, b) {
		t.Errorf("the expired run changed the status:\n%v\nwas\n%v", b, a)
	}
	if msg := statusOf(t, h, "message"); msg != "Expired at 2026-11-02T09:00:00Z; this request has been deleted, and the delete workflow removes the environment" {
		t.Errorf("message = %q", msg)
	}
}

// TestExpiryIsComputedOnce: the lifetime starts once and is kept in the
// record; a run at another time never moves it, and a changed ttl counts
// from the same start.
func TestExpiryIsComputedOnce(t *testing.T) {
	ctx := context.Background()
	// No creationTimestamp: the first run's clock starts the lifetime.
	h := newPipeline(t, request(t, "examples/preview.yaml", func(o map[string]any) {
		delete(o["metadata"].(map[string]any), "creationTimestamp")
	}), "", nil)
	start := h.Now
	steps := []struct {
		advance time.Duration
		ttl     string
		want    time.Time
	}{
		{0, "48h", start.Add(48 * time.Hour)},
		{5 * time.Hour, "48h", start.Add(48 * time.Hour)},
		{time.Hour, "3d", start.Add(72 * time.Hour)},
		{time.Hour, "", start.Add(72 * time.Hour)}, // the preview type's default
	}
	for i, s := range steps {
		h.Now = h.Now.Add(s.advance)
		spec := h.Object["spec"].(map[string]any)
		if s.ttl == "" {
			delete(spec, "ttl")
		} else {
			spec["ttl"] = s.ttl
		}
		if o := h.Configure(ctx); o.Err != nil {
			t.Fatal(o.Err)
		}
		if got := statusOf(t, h, "expiresAt"); got != s.want.Format(time.RFC3339) {
			t.Errorf("step %d (ttl %q at %s): expiresAt = %v, want %s", i, s.ttl, h.Now.Format(time.RFC3339), got, s.want.Format(time.RFC3339))
		}
	}
}

func TestExpiredDryRunDeletesNothing(t *testing.T) {
	api := newFakeAPIServer(t)
	h := newPipeline(t, request(t, "examples/preview.yaml", nil), "", api.deleteRequest)
	h.Env["KRATIX_DRY_RUN"] = "true"
	h.Now = created.Add(72 * time.Hour)
	if o := h.Configure(context.Background()); o.Err != nil {
		t.Fatal(o.Err)
	}
	if got := api.seen(); len(got) != 0 {
		t.Errorf("a dry run called the platform API: %q", got)
	}
}

func mapsEqualJSON(a, b map[string]any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestExpiredEnvironmentDeletesItsRequestOnAPIServer: the same expiry, with
// a real API server (internal/apiserver) as the platform API, the call
// authorized by exactly the Promise's rbac.permissions: the request is
// gone after the expired run, and a newer request that took its name is
// not touched by an old run's delete.
func TestExpiredEnvironmentDeletesItsRequestOnAPIServer(t *testing.T) {
	srv := api.For(t, "promise.yaml")
	promiseYAML, err := os.ReadFile("promise.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rules, pipelineNS, err := apiserver.PromiseRules(promiseYAML, kratix.ActionConfigure, "team-a")
	if err != nil {
		t.Fatal(err)
	}
	var denied apiserver.Denials
	client, err := srv.PlatformClient(func(next http.RoundTripper) http.RoundTripper {
		return apiserver.RuleTransport(rules, pipelineNS, denied.Add, next)
	})
	if err != nil {
		t.Fatal(err)
	}
	deleteRequest := func(ctx context.Context, req *kratix.Request) error {
		r := platformapi.Resource{Group: req.Env.ObjectGroup, Version: req.Env.ObjectVersion, Plural: req.Env.CRDPlural}
		return client.Delete(ctx, r, req.Object.Metadata.Namespace, req.Object.Metadata.Name, req.Object.Metadata.UID)
	}

	create := func() (*pipeline, time.Time) {
		t.Helper()
		obj, err := srv.Create(t.Context(), request(t, "examples/preview.yaml", func(o map[string]any) {
			meta := o["metadata"].(map[string]any)
			meta["namespace"] = "team-a"
			delete(meta, "uid")
			delete(meta, "creationTimestamp")
		}))
		if err != nil {
			t.Fatal(err)
		}
		data, err := yaml.Marshal(obj.Object)
		if err != nil {
			t.Fatal(err)
		}
		return newPipeline(t, data, "examples/platform/ack.yaml", deleteRequest), obj.GetCreationTimestamp().Time
	}
	envs := schema.GroupVersionResource{Group: "platform.promisekit.dev", Version: "v1alpha1", Resource: "environments"}
	dyn, err := srv.Dynamic()
	if err != nil {
		t.Fatal(err)
	}
	exists := func() (string, bool) {
		obj, err := dyn.Resource(envs).Namespace("team-a").Get(t.Context(), "checkout-preview", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return "", false
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(obj.GetUID()), true
	}

	h, created := create()
	if out := h.Configure(t.Context()); out.Err != nil {
		t.Fatal(out.Err)
	}
	if _, ok := exists(); !ok {
		t.Fatal("a live environment deleted its request")
	}
	h.Now = created.Add(48 * time.Hour)
	if out := h.Configure(t.Context()); out.Err != nil {
		t.Fatal(out.Err)
	}
	if _, ok := exists(); ok {
		t.Fatal("the expired environment's request is still there")
	}

	// The old run again (Kratix may re-run it), after a new request took
	// the name: the UID precondition keeps the new one.
	h2, _ := create()
	if out := h.Configure(t.Context()); out.Err != nil {
		t.Fatal(out.Err)
	}
	uid, ok := exists()
	if !ok || uid != h2.Object["metadata"].(map[string]any)["uid"] {
		t.Errorf("the old run's delete removed the newer request (now %q, %v)", uid, ok)
	}
	if d := denied.All(); len(d) > 0 {
		t.Errorf("calls outside the Promise's rules:\n%s", strings.Join(d, "\n"))
	}

	// Negative control: the Promise's rules without their delete verb
	// refuse the same call, naming the verb and the resource.
	var lessRules []apiserver.Rule
	for _, rule := range rules {
		rule.Verbs = slices.DeleteFunc(slices.Clone(rule.Verbs), func(v string) bool { return v == "delete" })
		lessRules = append(lessRules, rule)
	}
	if slices.EqualFunc(lessRules, rules, func(a, b apiserver.Rule) bool { return slices.Equal(a.Verbs, b.Verbs) }) {
		t.Fatal("the Promise grants no delete to take away")
	}
	var none apiserver.Denials
	bare, err := srv.PlatformClient(func(next http.RoundTripper) http.RoundTripper {
		return apiserver.RuleTransport(lessRules, pipelineNS, none.Add, next)
	})
	if err != nil {
		t.Fatal(err)
	}
	r := platformapi.Resource{Group: envs.Group, Version: envs.Version, Plural: envs.Resource}
	err = bare.Delete(t.Context(), r, "team-a", "checkout-preview", uid)
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "delete environments checkout-preview") {
		t.Errorf("without the rule: %v", err)
	}
	if d := none.All(); len(d) != 1 || !strings.HasPrefix(d[0], "delete environments checkout-preview") {
		t.Errorf("refused calls: %q", d)
	}
}
