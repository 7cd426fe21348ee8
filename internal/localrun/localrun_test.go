package localrun

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/promisekit/promisekit/internal/kratixsim"
	"github.com/promisekit/promisekit/internal/localrun/localapi"
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/platformapi"
	"github.com/promisekit/promisekit/pkg/state"
)

// The test binary doubles as the stage: bin/counter is a script that runs
// it with LOCALRUN_TEST_STAGE=1, so the runner executes a real process.
func TestMain(m *testing.M) {
	switch os.Getenv("LOCALRUN_TEST_STAGE") {
	case "1":
		kratix.Main("counter", counterStage())
		return
	case "waiter":
		kratix.Main("counter", waiterStage())
		return
	}
	os.Exit(m.Run())
}

type counterSpec struct {
	Greeting   string `json:"greeting"`
	DeleteSelf bool   `json:"deleteSelf,omitempty"`
}

type counterState struct {
	Runs int `json:"runs"`
}

var counterCodec = state.Codec[counterState]{Key: "counter", Version: 1}

// counterStage counts its runs in status, so the test sees whether the
// runner carries status from one run into the next.
func counterStage() kratix.Workflows {
	return kratix.Workflows{
		ResourceConfigure: func(ctx context.Context, req *kratix.Request) (*kratix.Result, error) {
			var spec counterSpec
			if err := req.Object.DecodeSpec(&spec); err != nil {
				return nil, err
			}
			st, _, err := counterCodec.Load(req.Object)
			if err != nil {
				return nil, err
			}
			st.Runs++
			res := &kratix.Result{Message: fmt.Sprintf("run %d at %s", st.Runs, req.Now.Format(time.RFC3339))}
			if err := counterCodec.Store(res, st); err != nil {
				return nil, err
			}
			cm := func(name string) map[string]any {
				return map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
					"metadata": map[string]any{"name": name, "namespace": req.Object.Metadata.Namespace},
					"data":     map[string]any{"greeting": spec.Greeting, "env": req.Getenv("PLATFORM_SETTING")}}
			}
			res.Documents = []kratix.Document{{Object: cm("main")}, {Directory: "edge", Object: cm("edge")}}
			res.DestinationSelectors = []kratix.DestinationSelector{{Directory: "edge", MatchLabels: map[string]string{"zone": "edge"}}}
			if spec.DeleteSelf {
				// This stage only ever runs under the runner, which names
				// its object directory.
				dir := req.Getenv(localapi.Variable)
				if dir == "" {
					return nil, fmt.Errorf("%s is not set", localapi.Variable)
				}
				api := platformapi.NewDir(dir)
				r := platformapi.Resource{Group: req.Env.ObjectGroup, Version: req.Env.ObjectVersion, Plural: req.Env.CRDPlural}
				if err := api.Delete(ctx, r, req.Object.Metadata.Namespace, req.Object.Metadata.Name, req.Object.Metadata.UID); err != nil {
					return nil, err
				}
			}
			return res, nil
		},
		ResourceDelete: func(ctx context.Context, req *kratix.Request) (*kratix.Result, error) {
			os.WriteFile(filepath.Join(req.Getenv("DELETE_MARKER_DIR"), req.Object.Metadata.Name), nil, 0o644)
			return &kratix.Result{Message: "deleted"}, nil
		},
	}
}

const promiseYAML = `apiVersion: platform.kratix.io/v1alpha1
kind: Promise
metadata: {name: counter}
spec:
  destinationSelectors: [{matchLabels: {environment: dev}}]
  api:
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata: {name: counters.test.promisekit.dev}
    spec:
      group: test.promisekit.dev
      names: {kind: Counter, plural: counters, singular: counter}
      scope: Namespaced
      versions: [{name: v1alpha1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]
  workflows:
    resource:
      configure:
      - apiVersion: platform.kratix.io/v1alpha1
        kind: Pipeline
        metadata: {name: instance}
        spec:
          containers:
          - name: counter
            image: ghcr.io/promisekit/counter:v1
            env: [{name: PLATFORM_SETTING, value: from-promise}]
      delete:
      - apiVersion: platform.kratix.io/v1alpha1
        kind: Pipeline
        metadata: {name: instance-delete}
        spec:
          containers: [{name: counter, image: ghcr.io/promisekit/counter:v1}]
`

type fixture struct {
	dir, promise, store, bin, markers string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{dir: dir, promise: filepath.Join(dir, "promise.yaml"), store: filepath.Join(dir, "state"),
		bin: filepath.Join(dir, "bin"), markers: filepath.Join(dir, "markers")}
	os.MkdirAll(f.bin, 0o755)
	os.MkdirAll(f.markers, 0o755)
	os.WriteFile(f.promise, []byte(promiseYAML), 0o644)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\nLOCALRUN_TEST_STAGE=1 DELETE_MARKER_DIR=" + f.markers + " exec " + self + "\n"
	if err := os.WriteFile(filepath.Join(f.bin, "counter"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) request(t *testing.T, name, spec string) string {
	file := filepath.Join(f.dir, name+".yaml")
	body := "apiVersion: test.promisekit.dev/v1alpha1\nkind: Counter\nmetadata: {name: " + name + ", namespace: team-a}\nspec: " + spec + "\n"
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func (f *fixture) run(t *testing.T, request, action string, now time.Time) (*Outcome, error) {
	return Run(context.Background(), Options{
		PromiseFile: f.promise, RequestFile: request, StateStore: f.store, BinDir: f.bin,
		Action: action, Now: now,
		Destinations: []Destination{
			{Name: "worker-2", Labels: map[string]string{"environment": "dev"}},
			{Name: "worker-1", Labels: map[string]string{"environment": "dev"}},
			{Name: "edge-1", Labels: map[string]string{"zone": "edge"}},
		},
	})
}

var t0 = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

func TestConfigureRerunAndDelete(t *testing.T) {
	f := newFixture(t)
	req := f.request(t, "hello", "{greeting: hi}")

	out, err := f.run(t, req, kratix.ActionConfigure, t0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"worker-1/resources/team-a/counter/hello/instance/5058f/configmap_team-a_main.yaml",
		"edge-1/resources/team-a/counter/hello/instance/" + dirID("edge") + "/edge/configmap_team-a_edge.yaml",
	}
	if !reflect.DeepEqual(out.Written, want) {
		t.Errorf("written = %v, want %v", out.Written, want)
	}
	main, _ := os.ReadFile(filepath.Join(f.store, want[0]))
	if !strings.Contains(string(main), "env: from-promise") {
		t.Errorf("the container's env from the Promise did not reach the stage:\n%s", main)
	}
	meta := out.Object["metadata"].(map[string]any)
	if meta["creationTimestamp"] != "2026-11-01T09:00:00Z" || meta["uid"] == "" {
		t.Errorf("metadata = %v", meta)
	}

	// A scheduled re-run an hour later: status carried in, spec unchanged.
	out, err = f.run(t, req, kratix.ActionConfigure, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	status := out.Object["status"].(map[string]any)
	if status["message"] != "run 2 at 2026-11-01T10:00:00Z" {
		t.Errorf("message = %v", status["message"])
	}
	if c := status["counter"].(map[string]any); c["runs"] != float64(2) && c["runs"] != int64(2) {
		t.Errorf("counter = %v", c)
	}
	if gen := out.Object["metadata"].(map[string]any)["generation"]; fmt.Sprint(gen) != "1" {
		t.Errorf("generation = %v after a re-run with the same spec", gen)
	}

	// A spec change bumps the generation.
	f.request(t, "hello", "{greeting: hello}")
	out, err = f.run(t, req, kratix.ActionConfigure, t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if gen := out.Object["metadata"].(map[string]any)["generation"]; fmt.Sprint(gen) != "2" {
		t.Errorf("generation = %v after a spec change", gen)
	}

	out, err = f.run(t, req, kratix.ActionDelete, t0.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !out.Deleted {
		t.Error("not reported deleted")
	}
	if _, err := os.Stat(filepath.Join(f.markers, "hello")); err != nil {
		t.Error("the delete workflow did not run")
	}
	if files := storeFiles(t, f.store); len(files) != 0 {
		t.Errorf("left behind after delete: %v", files)
	}
}

func TestFailedRunKeepsEarlierOutputAndStatus(t *testing.T) {
	f := newFixture(t)
	req := f.request(t, "hello", "{greeting: hi}")
	if _, err := f.run(t, req, kratix.ActionConfigure, t0); err != nil {
		t.Fatal(err)
	}
	before := storeFiles(t, f.store)
	f.request(t, "hello", "{greting: typo}")
	_, err := f.run(t, req, kratix.ActionConfigure, t0.Add(time.Hour))
	if err == nil || !strings.Contains(err.Error(), "spec.greting: unknown field") {
		t.Fatalf("error = %v, want the field named", err)
	}
	after := storeFiles(t, f.store)
	for k, v := range before {
		if strings.Contains(k, ".platform") {
			continue // the request itself is updated, as the API server would
		}
		if after[k] != v {
			t.Errorf("%s changed by a failed run", k)
		}
	}
	obj, _ := readYAML(filepath.Join(f.store, PlatformDir, "test.promisekit.dev/counters/team-a/hello.yaml"))
	if msg := obj["status"].(map[string]any)["message"]; !strings.HasPrefix(fmt.Sprint(msg), "run 1") {
		t.Errorf("status after a failed run = %v, want the earlier one", msg)
	}
}

func TestStageDeletingItsOwnRequestTriggersDelete(t *testing.T) {
	f := newFixture(t)
	req := f.request(t, "expiring", "{greeting: bye, deleteSelf: true}")
	out, err := f.run(t, req, kratix.ActionConfigure, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Deleted {
		t.Fatal("the runner did not run the delete workflow")
	}
	if _, err := os.Stat(filepath.Join(f.markers, "expiring")); err != nil {
		t.Error("the delete workflow did not run")
	}
	if files := storeFiles(t, f.store); len(files) != 0 {
		t.Errorf("left behind: %v", files)
	}
}

func TestRefusesMismatchedRequest(t *testing.T) {
	f := newFixture(t)
	file := filepath.Join(f.dir, "other.yaml")
	os.WriteFile(file, []byte("apiVersion: other.io/v1\nkind: Counter\nmetadata: {name: x}\n"), 0o644)
	if _, err := f.run(t, file, kratix.ActionConfigure, t0); err == nil || !strings.Contains(err.Error(), "promise counter serves Counter") {
		t.Fatalf("error = %v", err)
	}
}

func TestBinaryName(t *testing.T) {
	for image, want := range map[string]string{
		"ghcr.io/promisekit/natsuser:v1.2.0":           "natsuser",
		"registry:5000/platform/environment@sha256:ab": "environment",
		"apiaggregator": "apiaggregator",
	} {
		if got := binaryName(image); got != want {
			t.Errorf("binaryName(%q) = %q, want %q", image, got, want)
		}
	}
}

func dirID(dir string) string {
	parts := strings.Split(kratixsim.WorkDir("d", "n", "p", "r", "l", dir), "/")
	return parts[len(parts)-1]
}

func storeFiles(t *testing.T, store string) map[string]string {
	t.Helper()
	files := map[string]string{}
	filepath.Walk(store, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			rel, _ := filepath.Rel(store, p)
			data, _ := os.ReadFile(p)
			files[rel] = string(data)
		}
		return nil
	})
	return files
}
