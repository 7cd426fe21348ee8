package apiserver_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/apiserver"
	"github.com/promisekit/promisekit/internal/golist"
)

var api apiserver.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	api.Close()
	os.Exit(code)
}

// promiseFiles are every Promise of the repository.
func promiseFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(golist.Root(t), "promises", "*", "*promise.yaml"))
	if err != nil || len(files) < 4 {
		t.Fatalf("want the four Promise files, got %q (%v)", files, err)
	}
	return files
}

// TestPromisesInstallAndAdmitExamples installs every Promise's CRD into
// the server, which checks each as a cluster does (structural schema, CEL
// rules within their cost budget), then creates every example request.
func TestPromisesInstallAndAdmitExamples(t *testing.T) {
	srv := api.For(t, promiseFiles(t)...)
	examples, err := filepath.Glob(filepath.Join(golist.Root(t), "promises", "*", "examples", "*.yaml"))
	if err != nil || len(examples) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, f := range examples {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if problems := srv.Admit(t.Context(), data, false); len(problems) > 0 {
			t.Errorf("%s: the server refuses it: %q", f, problems)
		}
	}
}

// TestInstallRefusesWhatTheServerRefuses holds InstallCRD to the server's
// own CRD checks.
func TestInstallRefusesWhatTheServerRefuses(t *testing.T) {
	srv := api.For(t)
	tests := []struct {
		name, schema, want string
	}{
		{
			name:   "not structural",
			schema: `{type: object, properties: {spec: {}}}`,
			want:   "must not be empty for specified object fields",
		},
		{
			name: "CEL over the cost budget",
			// An unbounded list of unbounded strings, each compared with
			// every other: the estimated cost is far over the limit.
			schema: `{type: object, properties: {spec: {type: object, properties: {items: {type: array, items: {type: string}}}, x-kubernetes-validations: [{rule: "self.items.all(a, self.items.all(b, a == b || !a.contains(b)))"}]}}}`,
			want:   "exceeds budget",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			crd := `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.refused.example.com}
spec:
  group: refused.example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: ` + tt.schema + "\n"
			err := srv.InstallCRD(t.Context(), []byte(crd))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want an error containing %q, got %v", tt.want, err)
			}
		})
	}
}

// TestResetDeletesObjects: a test starts with no objects of any kind.
func TestResetDeletesObjects(t *testing.T) {
	srv := api.For(t, promiseFiles(t)...)
	data, err := os.ReadFile(filepath.Join(golist.Root(t), "promises", "apiaggregator", "examples", "portal.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if p := srv.Admit(t.Context(), data, false); p != nil {
		t.Fatal(p)
	}
	srv = api.For(t, promiseFiles(t)...)
	dyn, err := srv.Dynamic()
	if err != nil {
		t.Fatal(err)
	}
	gvr := schema.GroupVersionResource{Group: "apiaggregator.promisekit.io", Version: "v1alpha1", Resource: "apiaggregators"}
	list, err := dyn.Resource(gvr).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 0 {
		t.Errorf("after a reset: %d objects", len(list.Items))
	}
}

// TestCompactExpiresContinueTokens: a continue token issued before Compact
// is refused with 410 Gone, as on a cluster whose etcd has compacted the
// revision the token names.
func TestCompactExpiresContinueTokens(t *testing.T) {
	srv := api.For(t, promiseFiles(t)...)
	dyn, err := srv.Dynamic()
	if err != nil {
		t.Fatal(err)
	}
	gvr := schema.GroupVersionResource{Group: "apiaggregator.promisekit.io", Version: "v1alpha1", Resource: "apiaggregators"}
	for _, name := range []string{"a", "b", "c"} {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(`{apiVersion: apiaggregator.promisekit.io/v1alpha1, kind: ApiAggregator, metadata: {name: `+name+`, namespace: platform}, spec: {hostname: `+name+`.example.com, routeNamespaces: {names: [team-a]}}}`), &obj); err != nil {
			t.Fatal(err)
		}
		if _, err := dyn.Resource(gvr).Namespace("platform").Create(t.Context(), &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := dyn.Resource(gvr).List(t.Context(), metav1.ListOptions{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if page.GetContinue() == "" {
		t.Fatal("no continue token after a page of 1 of 3")
	}
	// A write, so that the revision compacted is past the token's.
	if err := dyn.Resource(gvr).Namespace("platform").Delete(t.Context(), "c", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Compact(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, err = dyn.Resource(gvr).List(t.Context(), metav1.ListOptions{Limit: 1, Continue: page.GetContinue()})
	if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
		t.Fatalf("want 410 Gone, got %v", err)
	}
	if got := apiserver.Problems(err); !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, "continue") }) {
		t.Errorf("the 410's message does not mention the continue token: %q", got)
	}
}
