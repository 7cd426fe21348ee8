package example

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/crdcheck"
	"github.com/promisekit/promisekit/internal/kratixsim"
	"github.com/promisekit/promisekit/internal/stagetest"
	"github.com/promisekit/promisekit/pkg/kratix"
)

var workflow = kratixsim.Workflow{Type: kratix.TypeResource, Promise: "greeting", Pipeline: "greet", Plural: "greetings"}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// request returns a Greeting hello in namespace team-a with the given spec.
func request(spec string) []byte {
	return []byte("apiVersion: example.promisekit.dev/v1alpha1\nkind: Greeting\nmetadata: {name: hello, namespace: team-a}\nspec: " + spec + "\n")
}

func TestConfigure(t *testing.T) {
	h := stagetest.New(t, "example", Workflows(Outside{}), workflow, readFile(t, "examples/greeting.yaml"))
	out := h.Configure(context.Background())
	if out.Err != nil {
		t.Fatal(out.Err)
	}

	wantFiles := map[string]string{
		"configmap_team-a_hello.yaml": `apiVersion: v1
data:
  greeting: Hello, platform!
  replicas: "2"
kind: ConfigMap
metadata:
  labels:
    app.kubernetes.io/instance: hello
    app.kubernetes.io/managed-by: promisekit
    app.kubernetes.io/name: greeting
  name: hello
  namespace: team-a
`,
		"dev/serviceaccount_team-a_hello.yaml": `apiVersion: v1
kind: ServiceAccount
metadata:
  labels:
    app.kubernetes.io/instance: hello
    app.kubernetes.io/managed-by: promisekit
    app.kubernetes.io/name: greeting
  name: hello
  namespace: team-a
`,
	}
	if got, want := slices.Sorted(maps.Keys(out.Files)), slices.Sorted(maps.Keys(wantFiles)); !slices.Equal(got, want) {
		t.Fatalf("output files = %q, want %q", got, want)
	}
	for name, want := range wantFiles {
		if got := string(out.Files[name]); got != want {
			t.Errorf("%s =\n%s\nwant\n%s", name, got, want)
		}
	}
	if got, want := string(out.Selectors), "- directory: dev\n  matchLabels:\n    environment: dev\n"; got != want {
		t.Errorf("destination-selectors.yaml =\n%s\nwant\n%s", got, want)
	}
	wantStatus := "greeting:\n  changes: 0\n  firstGreeting: Hello, platform!\n  lastGreeting: Hello, platform!\n  schemaVersion: 1\nmessage: greeting \"Hello, platform!\" with 2 replicas\n"
	if got := string(out.StatusYAML); got != wantStatus {
		t.Errorf("status.yaml =\n%s\nwant\n%s", got, wantStatus)
	}
}

func TestReplicasDefault(t *testing.T) {
	h := stagetest.New(t, "example", Workflows(Outside{}), workflow, readFile(t, "examples/greeting-defaults.yaml"))
	out := h.Configure(context.Background())
	if out.Err != nil {
		t.Fatal(out.Err)
	}
	var cm configMap
	if err := yaml.UnmarshalStrict(out.Files["configmap_team-b_hi.yaml"], &cm); err != nil {
		t.Fatal(err)
	}
	if cm.Data["replicas"] != "1" {
		t.Errorf("replicas = %q, want the default 1", cm.Data["replicas"])
	}
	if got, want := h.Status()["message"], `greeting "Hi" with 1 replica`; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}

func TestRerunIsByteIdentical(t *testing.T) {
	h := stagetest.New(t, "example", Workflows(Outside{}), workflow, readFile(t, "examples/greeting.yaml"))
	first := h.Configure(context.Background())
	if first.Err != nil {
		t.Fatal(first.Err)
	}
	// The second run sees the first run's status, as a scheduled re-run does.
	second := h.Configure(context.Background())
	if second.Err != nil {
		t.Fatal(second.Err)
	}
	if !maps.EqualFunc(first.Files, second.Files, bytes.Equal) {
		t.Errorf("output differs between runs:\n%q\n%q", first.Files, second.Files)
	}
	if !bytes.Equal(first.StatusYAML, second.StatusYAML) {
		t.Errorf("status.yaml differs between runs:\n%s\n%s", first.StatusYAML, second.StatusYAML)
	}
	if !bytes.Equal(first.Selectors, second.Selectors) {
		t.Errorf("destination-selectors.yaml differs between runs:\n%s\n%s", first.Selectors, second.Selectors)
	}
}

func TestStateRoundTrip(t *testing.T) {
	h := stagetest.New(t, "example", Workflows(Outside{}), workflow, request("{greeting: One}"))
	steps := []struct {
		greeting string
		want     map[string]any
	}{
		{"One", map[string]any{"firstGreeting": "One", "lastGreeting": "One", "changes": float64(0), "schemaVersion": float64(1)}},
		{"Two", map[string]any{"firstGreeting": "One", "lastGreeting": "Two", "changes": float64(1), "schemaVersion": float64(1)}},
		{"Two", map[string]any{"firstGreeting": "One", "lastGreeting": "Two", "changes": float64(1), "schemaVersion": float64(1)}},
		{"One", map[string]any{"firstGreeting": "One", "lastGreeting": "One", "changes": float64(2), "schemaVersion": float64(1)}},
	}
	for i, step := range steps {
		h.Object["spec"] = map[string]any{"greeting": step.greeting}
		if out := h.Configure(context.Background()); out.Err != nil {
			t.Fatalf("run %d: %v", i, out.Err)
		}
		got, _ := h.Status()[StateKey].(map[string]any)
		if !maps.Equal(got, step.want) {
			t.Errorf("run %d: status.%s = %v, want %v", i, StateKey, got, step.want)
		}
	}
}

func TestStateFromANewerReleaseIsRefused(t *testing.T) {
	obj := string(request("{greeting: Hi}")) + "status:\n  greeting: {schemaVersion: 2, firstGreeting: Hi, lastGreeting: Hi, changes: 0}\n"
	h := stagetest.New(t, "example", Workflows(Outside{}), workflow, []byte(obj))
	out := h.Configure(context.Background())
	want := "status.greeting: schema version 2 was written by a newer release (this one reads up to 1)"
	if out.Err == nil || out.Err.Error() != want {
		t.Errorf("error = %v, want %q", out.Err, want)
	}
}

func TestInvalidRequests(t *testing.T) {
	tests := []struct {
		name, spec, want string
	}{
		{"unknown field", "{greeting: Hi, replica: 2}", "spec.replica: unknown field"},
		{"missing greeting", "{replicas: 2}", "spec.greeting: is required"},
		{"long greeting", "{greeting: " + strings.Repeat("é", 65) + "}", "spec.greeting: must be at most 64 characters, not 65"},
		{"padded greeting", `{greeting: " Hi"}`, "spec.greeting: must not start or end with whitespace"},
		{"two lines", `{greeting: "Hi\nthere"}`, "spec.greeting: must be a single line"},
		{"too few replicas", "{greeting: Hi, replicas: 0}", "spec.replicas: must be between 1 and 10, not 0"},
		{"too many replicas", "{greeting: Hi, replicas: 11}", "spec.replicas: must be between 1 and 10, not 11"},
		{"replicas not a number", "{greeting: Hi, replicas: two}", "spec.replicas: must be an integer, not string"},
		{"every problem at once", `{greeting: "", replicas: 12}`, "spec.greeting: is required; spec.replicas: must be between 1 and 10, not 12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := stagetest.New(t, "example", Workflows(Outside{}), workflow, request(tt.spec))
			out := h.Configure(context.Background())
			if out.Err == nil || kratix.OneLine(out.Err) != tt.want {
				t.Fatalf("error = %v, want %q", out.Err, tt.want)
			}
			if len(out.Files) > 0 || out.StatusYAML != nil {
				t.Errorf("a refused request wrote %d files and status %q", len(out.Files), out.StatusYAML)
			}
		})
	}
}

func TestDelete(t *testing.T) {
	h := stagetest.New(t, "example", Workflows(Outside{}), workflow, readFile(t, "examples/greeting.yaml"))
	if out := h.Configure(context.Background()); out.Err != nil {
		t.Fatal(out.Err)
	}
	out := h.Delete(context.Background())
	if out.Err != nil {
		t.Fatal(out.Err)
	}
	if len(out.Files) > 0 || out.Selectors != nil {
		t.Errorf("delete wrote output %q and selectors %q", slices.Sorted(maps.Keys(out.Files)), out.Selectors)
	}
	if got, want := string(out.StatusYAML), "message: greeting hello removed\n"; got != want {
		t.Errorf("status.yaml = %q, want %q", got, want)
	}
}

func loadOwnCRD(t *testing.T) *crdcheck.Validator {
	t.Helper()
	crd, err := crdcheck.PromiseCRD(readFile(t, "promise.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := crdcheck.Load(crd)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestExamplesAgainstTheCRD(t *testing.T) {
	v := loadOwnCRD(t)
	examples, err := filepath.Glob("examples/*.yaml")
	if err != nil || len(examples) == 0 {
		t.Fatalf("no examples found (%v)", err)
	}
	for _, file := range examples {
		if problems := v.Validate(readFile(t, file)); len(problems) > 0 {
			t.Errorf("%s: %q", file, problems)
		}
	}
	got := v.Validate(readFile(t, "testdata/padded-greeting.yaml"))
	want := []string{`spec.greeting: Invalid value: " Hello": must not start or end with whitespace`}
	if !slices.Equal(got, want) {
		t.Errorf("testdata/padded-greeting.yaml: %q, want %q", got, want)
	}
}

// TestValidationAgreesWithTheCRD checks that the stage's Go validation
// accepts exactly what the API server accepts: neither may let through a
// request the other refuses.
func TestValidationAgreesWithTheCRD(t *testing.T) {
	v := loadOwnCRD(t)
	specs := []string{
		"{greeting: Hi}",
		"{greeting: Hi, replicas: 1}",
		"{greeting: Hi, replicas: 10}",
		"{greeting: " + strings.Repeat("x", 64) + "}",
		"{greeting: " + strings.Repeat("é", 64) + "}",
		"{greeting: " + strings.Repeat("x", 65) + "}",
		`{greeting: ""}`,
		`{greeting: " "}`,
		`{greeting: "Hi "}`,
		`{greeting: "\tHi"}`,
		`{greeting: "Hi\nthere"}`,
		`{greeting: "Hi\u00a0"}`,
		"{greeting: Hi, replicas: 0}",
		"{greeting: Hi, replicas: 11}",
		"{greeting: Hi, replicas: -1}",
		"{}",
	}
	for _, spec := range specs {
		problems := v.Validate(request(spec))
		h := stagetest.New(t, "example", Workflows(Outside{}), workflow, request(spec))
		out := h.Configure(context.Background())
		if crdOK, goOK := len(problems) == 0, out.Err == nil; crdOK != goOK {
			t.Errorf("spec %s: the CRD says %q, the stage says %v", spec, problems, out.Err)
		}
	}
}
