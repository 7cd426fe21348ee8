package apiaggregator

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

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

// setSpec replaces the object's spec, as a user's kubectl apply would.
func (p *testPlatform) setSpec(h *stagetest.Harness, specYAML string) {
	p.t.Helper()
	var spec map[string]any
	if err := yaml.Unmarshal([]byte(specYAML), &spec); err != nil {
		p.t.Fatal(err)
	}
	h.Object["spec"] = spec
	p.store(h)
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
