package platformapi_test

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

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/promisekit/promisekit/internal/apiserver"
	"github.com/promisekit/promisekit/internal/golist"
	"github.com/promisekit/promisekit/pkg/platformapi"
)

// These tests run pkg/platformapi against a real API server
// (internal/apiserver) serving the repository's Promises.

var api apiserver.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	api.Close()
	os.Exit(code)
}

var (
	aggregators = platformapi.Resource{Group: "apiaggregator.promisekit.io", Version: "v1alpha1", Plural: "apiaggregators"}
	targets     = platformapi.Resource{Group: "apiaggregator.promisekit.io", Version: "v1alpha1", Plural: "apiaggregatortargets"}
	envs        = platformapi.Resource{Group: "platform.promisekit.dev", Version: "v1alpha1", Plural: "environments"}
)

func promise(t *testing.T, rel string) string {
	return filepath.Join(golist.Root(t), "promises", rel)
}

func server(t *testing.T) *apiserver.Server {
	t.Helper()
	return api.For(t,
		promise(t, "apiaggregator/apiaggregator-promise.yaml"),
		promise(t, "apiaggregator/apiaggregatortarget-promise.yaml"),
		promise(t, "environment/promise.yaml"))
}

func create(t *testing.T, srv *apiserver.Server, objYAML string) string {
	t.Helper()
	obj, err := srv.Create(t.Context(), []byte(objYAML))
	if err != nil {
		t.Fatalf("creating %s: %v", objYAML, err)
	}
	return string(obj.GetUID())
}

func aggregator(ns, name string) string {
	return fmt.Sprintf(`{apiVersion: apiaggregator.promisekit.io/v1alpha1, kind: ApiAggregator, metadata: {name: %s, namespace: %s}, spec: {hostname: %s.example.com, routeNamespaces: {names: [team-a]}}}`, name, ns, name)
}

func target(ns, name, aggregator string) string {
	return fmt.Sprintf(`{apiVersion: apiaggregator.promisekit.io/v1alpha1, kind: ApiAggregatorTarget, metadata: {name: %s, namespace: %s}, spec: {aggregatorRef: {name: %s, namespace: platform}, service: {name: svc, port: 80}, paths: [{prefix: /%s}]}}`, name, ns, aggregator, name)
}

// recorder records the query of every request a client sends, and the
// status of each answer.
type recorder struct {
	mu     sync.Mutex
	calls  []string
	before func(*http.Request)
	next   http.RoundTripper
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if r.before != nil {
		r.before(req)
	}
	resp, err := r.next.RoundTrip(req)
	r.mu.Lock()
	defer r.mu.Unlock()
	code := 0
	if resp != nil {
		code = resp.StatusCode
	}
	r.calls = append(r.calls, fmt.Sprintf("%s %s?%s -> %d", req.Method, req.URL.Path, req.URL.Query().Encode(), code))
	return resp, err
}

func (r *recorder) client(t *testing.T, srv *apiserver.Server, opts ...platformapi.Option) *platformapi.Client {
	t.Helper()
	c, err := srv.PlatformClient(func(rt http.RoundTripper) http.RoundTripper { r.next = rt; return r }, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestServerListPages(t *testing.T) {
	srv := server(t)
	var want []string
	for i := range 7 {
		ns := []string{"platform", "edge"}[i%2]
		name := fmt.Sprintf("agg-%d", i)
		create(t, srv, aggregator(ns, name))
		want = append(want, ns+"/"+name)
	}
	rec := &recorder{}
	c := rec.client(t, srv, platformapi.WithPageSize(2))
	objs, err := c.List(t.Context(), aggregators, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.Metadata.Namespace+"/"+o.Metadata.Name)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("listed %q, want %q", got, want)
	}
	if len(rec.calls) != 4 {
		t.Errorf("want 4 pages of at most 2, got %d requests:\n%s", len(rec.calls), strings.Join(rec.calls, "\n"))
	}
	objs, err = c.List(t.Context(), aggregators, "edge")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 3 {
		t.Errorf("edge: %d objects, want 3", len(objs))
	}
}

// TestServerExpiredContinue compacts etcd between two pages of a list, as
// happens on a cluster when a list is followed too late: the server
// answers 410 Gone, and the list starts over.
func TestServerExpiredContinue(t *testing.T) {
	srv := server(t)
	for i := range 5 {
		create(t, srv, aggregator("platform", fmt.Sprintf("agg-%d", i)))
	}
	compactions := 0
	rec := &recorder{}
	c := rec.client(t, srv, platformapi.WithPageSize(2))
	rec.before = func(req *http.Request) {
		if req.URL.Query().Get("continue") != "" && compactions < 1 {
			compactions++
			// A write, then a compaction past the list's revision.
			if _, err := srv.Create(context.Background(), []byte(aggregator("platform", "late"))); err != nil {
				t.Error(err)
			}
			if err := srv.Compact(context.Background()); err != nil {
				t.Error(err)
			}
		}
	}
	objs, err := c.List(t.Context(), aggregators, "platform")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 6 {
		t.Errorf("after the restart: %d objects, want the 6 there are now", len(objs))
	}
	if !slices.ContainsFunc(rec.calls, func(c string) bool { return strings.HasSuffix(c, "-> 410") }) {
		t.Errorf("the server never answered 410:\n%s", strings.Join(rec.calls, "\n"))
	}

	// A list that expires every time it is followed gives up, saying why.
	rec.before = func(req *http.Request) {
		if req.URL.Query().Get("continue") != "" {
			if _, err := srv.Create(context.Background(), []byte(aggregator("platform", fmt.Sprintf("late-%d", len(rec.calls))))); err != nil {
				t.Error(err)
			}
			if err := srv.Compact(context.Background()); err != nil {
				t.Error(err)
			}
		}
	}
	_, err = c.List(t.Context(), aggregators, "platform")
	if err == nil || !strings.Contains(err.Error(), "continue token expired") || !strings.Contains(err.Error(), "410") {
		t.Errorf("want the 410 after the last restart, got %v", err)
	}
}

func TestServerGroupNotServed(t *testing.T) {
	srv := server(t)
	c, err := srv.PlatformClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []platformapi.Resource{
		{Group: "nope.example.com", Version: "v1", Plural: "widgets"},
		{Group: aggregators.Group, Version: "v9", Plural: "apiaggregators"},
		{Group: aggregators.Group, Version: "v1alpha1", Plural: "widgets"},
	} {
		_, err := c.List(t.Context(), r, "")
		if err == nil || !strings.Contains(err.Error(), "404 Not Found") || !strings.Contains(err.Error(), "does not serve "+r.Group+"/"+r.Version+" "+r.Plural) {
			t.Errorf("%v: want a 404 naming what is not served, got %v", r, err)
		}
	}
}

// TestServerDeleteOwnRequest deletes an Environment as its stage does when
// it expires: by UID, so a newer object of the same name survives.
func TestServerDeleteOwnRequest(t *testing.T) {
	srv := server(t)
	env := `{apiVersion: platform.promisekit.dev/v1alpha1, kind: Environment, metadata: {name: team-a-dev, namespace: team-a}, spec: {type: development, teamGroup: team-a}}`
	uid := create(t, srv, env)
	c, err := srv.PlatformClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(t.Context(), envs, "team-a", "team-a-dev", "not-"+uid); err != nil {
		t.Fatalf("another UID: %v", err)
	}
	dyn, err := srv.Dynamic()
	if err != nil {
		t.Fatal(err)
	}
	gvr := schema.GroupVersionResource{Group: envs.Group, Version: envs.Version, Resource: envs.Plural}
	if _, err := dyn.Resource(gvr).Namespace("team-a").Get(t.Context(), "team-a-dev", metav1.GetOptions{}); err != nil {
		t.Fatalf("a delete with another UID removed the object: %v", err)
	}
	if err := c.Delete(t.Context(), envs, "team-a", "team-a-dev", uid); err != nil {
		t.Fatal(err)
	}
	if _, err := dyn.Resource(gvr).Namespace("team-a").Get(t.Context(), "team-a-dev", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("after the delete: %v", err)
	}
	if err := c.Delete(t.Context(), envs, "team-a", "team-a-dev", uid); err != nil {
		t.Fatalf("deleting what is gone: %v", err)
	}
}

// TestServerFieldSelector lists a target's siblings with a field selector
// the target CRD's selectableFields allow: the server selects them.
func TestServerFieldSelector(t *testing.T) {
	srv := server(t)
	for i := range 6 {
		create(t, srv, target([]string{"team-a", "team-b"}[i%2], fmt.Sprintf("t-%d", i), []string{"portal", "edge"}[i%3/2]))
	}
	rec := &recorder{}
	c := rec.client(t, srv)
	objs, err := c.ListWhere(t.Context(), targets, "", platformapi.Field{Path: "spec.aggregatorRef.name", Value: "edge"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.Metadata.Name)
	}
	slices.Sort(got)
	if want := []string{"t-2", "t-5"}; !slices.Equal(got, want) {
		t.Errorf("selected %q, want %q", got, want)
	}
	if len(rec.calls) != 1 || !strings.Contains(rec.calls[0], "fieldSelector=spec.aggregatorRef.name%3Dedge") || !strings.HasSuffix(rec.calls[0], "-> 200") {
		t.Errorf("want one list the server selected, got:\n%s", strings.Join(rec.calls, "\n"))
	}
}

// TestServerFieldSelectorFallback: a CRD without selectableFields (or a
// server older than 1.31) refuses the selector with 400 "field label not
// supported"; the client lists everything and selects itself.
func TestServerFieldSelectorFallback(t *testing.T) {
	srv := server(t)
	if err := srv.InstallCRD(t.Context(), []byte(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.fallback.example.com}
spec:
  group: fallback.example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, properties: {spec: {type: object, properties: {owner: {type: string}}}}}
`)); err != nil {
		t.Fatal(err)
	}
	for i, owner := range []string{"a", "b", "a"} {
		create(t, srv, fmt.Sprintf(`{apiVersion: fallback.example.com/v1, kind: Widget, metadata: {name: w-%d, namespace: ns}, spec: {owner: %s}}`, i, owner))
	}
	rec := &recorder{}
	c := rec.client(t, srv)
	widgets := platformapi.Resource{Group: "fallback.example.com", Version: "v1", Plural: "widgets"}
	objs, err := c.ListWhere(t.Context(), widgets, "ns", platformapi.Field{Path: "spec.owner", Value: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[0].Metadata.Name != "w-0" || objs[1].Metadata.Name != "w-2" {
		t.Errorf("selected %d objects, want w-0 and w-2", len(objs))
	}
	if len(rec.calls) != 2 || !strings.HasSuffix(rec.calls[0], "-> 400") || strings.Contains(rec.calls[1], "fieldSelector") {
		t.Errorf("want a refused selector, then a plain list:\n%s", strings.Join(rec.calls, "\n"))
	}

	// The plain list in pages, with etcd compacted past it between two:
	// it starts over, as any list does, and still selects.
	rec = &recorder{}
	c = rec.client(t, srv, platformapi.WithPageSize(2))
	compacted := false
	rec.before = func(req *http.Request) {
		if req.URL.Query().Get("continue") != "" && !compacted {
			compacted = true
			if _, err := srv.Create(context.Background(), []byte(`{apiVersion: fallback.example.com/v1, kind: Widget, metadata: {name: w-late, namespace: ns}, spec: {owner: a}}`)); err != nil {
				t.Error(err)
			}
			if err := srv.Compact(context.Background()); err != nil {
				t.Error(err)
			}
		}
	}
	objs, err = c.ListWhere(t.Context(), widgets, "ns", platformapi.Field{Path: "spec.owner", Value: "a"})
	if err != nil {
		t.Fatalf("a fallback list that expired: %v", err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, o.Metadata.Name)
	}
	if want := []string{"w-0", "w-2", "w-late"}; !slices.Equal(names, want) {
		t.Errorf("after the restart: selected %q, want %q", names, want)
	}
	if !slices.ContainsFunc(rec.calls, func(c string) bool { return strings.HasSuffix(c, "-> 410") }) {
		t.Errorf("the server never answered 410:\n%s", strings.Join(rec.calls, "\n"))
	}
}
