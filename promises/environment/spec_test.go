package environment

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/crdcheck"
	"github.com/promisekit/promisekit/pkg/kratix"
)

func promiseCRD(t *testing.T) *crdcheck.Validator {
	t.Helper()
	promise, err := os.ReadFile("promise.yaml")
	if err != nil {
		t.Fatal(err)
	}
	crd, err := crdcheck.PromiseCRD(promise)
	if err != nil {
		t.Fatal(err)
	}
	v, err := crdcheck.Load(crd)
	if err != nil {
		t.Fatalf("the Promise's CRD: %v", err)
	}
	return v
}

func TestExamplesMatchTheCRD(t *testing.T) {
	crd := promiseCRD(t)
	files, err := filepath.Glob("examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, f := range files {
		if problems := crd.Validate(request(t, f, nil)); len(problems) > 0 {
			t.Errorf("%s: %s", f, strings.Join(problems, "; "))
		}
	}
}

// TestBadRequests sends each bad request through the CRD (where its schema
// can tell) and through the stage. The stage refuses every one with a
// first line that names the field, and leaves the earlier run's output and
// status exactly as they were.
func TestBadRequests(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(obj map[string]any)
		wantField string
		// crd is true when the CRD refuses it too; otherwise only the
		// stage knows (the platform's types, its maximum lifetime).
		crd bool
	}{
		{"no type", func(o map[string]any) { delete(o["spec"].(map[string]any), "type") }, "spec.type: required", true},
		{"unknown type", setSpec("type", "production"), `spec.type: unknown type "production"; this platform offers development, preview`, false},
		{"no team group", func(o map[string]any) { delete(o["spec"].(map[string]any), "teamGroup") }, "spec.teamGroup: required", true},
		{"team group with a space", setSpec("teamGroup", "team a"), "spec.teamGroup: must be", true},
		{"ttl in weeks", setSpec("ttl", "2w"), "spec.ttl: \"2w\": want a whole number", true},
		{"ttl too short", setSpec("ttl", "30m"), "spec.ttl: 30m is shorter than the minimum of 1h", false},
		{"ttl too long", setSpec("ttl", "90d"), "spec.ttl: 90d is longer than this platform allows (720h)", false},
		{"misspelt field", setSpec("frontend", map[string]any{"debg": true}), "spec.frontend.debg: unknown field", true},
		{"wrong type", setSpec("installInfra", "yes"), "spec.installInfra: must be a boolean", true},
		{"dotted name", func(o map[string]any) { o["metadata"].(map[string]any)["name"] = "team.a" }, "metadata.name: must be at most 63", true},
	}
	crd := promiseCRD(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := request(t, "examples/preview.yaml", tt.edit)
			if problems := crd.Validate(bad); (len(problems) > 0) != tt.crd {
				t.Errorf("CRD problems %q; want refused=%t", problems, tt.crd)
			}

			h := newPipeline(t, request(t, "examples/preview.yaml", nil), "examples/platform/ack.yaml", nil)
			good := h.Configure(context.Background())
			if good.Err != nil {
				t.Fatal(good.Err)
			}
			var obj map[string]any
			if err := yaml.Unmarshal(bad, &obj); err != nil {
				t.Fatal(err)
			}
			obj["status"] = h.Object["status"]
			h.Object = obj
			// The same Pod directories: what the good run wrote is there.
			out := h.RunIn(context.Background(), kratix.ActionConfigure, good.Dirs)
			if out.Err == nil {
				t.Fatal("the stage accepted the request")
			}
			line := kratix.OneLine(out.Err)
			if !strings.HasPrefix(line, tt.wantField) {
				t.Errorf("error %q, want it to start with %q", line, tt.wantField)
			}
			if !equalFiles(out.Files, good.Files) || !bytes.Equal(out.StatusYAML, good.StatusYAML) {
				t.Error("the refused run changed the earlier output or status")
			}
		})
	}
}

func TestPromiseGrantsOnlySelfDelete(t *testing.T) {
	data, err := os.ReadFile("promise.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var promise struct {
		Spec struct {
			Workflows struct {
				Resource map[string][]struct {
					Spec struct {
						Containers []struct {
							Image string `json:"image"`
						} `json:"containers"`
						RBAC struct {
							Permissions []map[string]any `json:"permissions"`
						} `json:"rbac"`
					} `json:"spec"`
				} `json:"resource"`
			} `json:"workflows"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &promise); err != nil {
		t.Fatal(err)
	}
	configure := promise.Spec.Workflows.Resource["configure"]
	if len(configure) != 1 || len(promise.Spec.Workflows.Resource["delete"]) != 1 {
		t.Fatalf("want one configure and one delete pipeline, got %+v", promise.Spec.Workflows.Resource)
	}
	got, _ := yaml.Marshal(configure[0].Spec.RBAC.Permissions)
	// resourceNamespace "*": the pipeline runs in the platform's namespace
	// (workflows.config.pipelineNamespace), and Kratix binds a permission
	// without resourceNamespace there only (pipeline_factory.go, a Role in
	// the pipeline's namespace), never in the request's. test/rbac derives
	// this rule from the call the stage makes.
	wantPermissions := "- apiGroups:\n  - platform.promisekit.dev\n  resourceNamespace: '*'\n  resources:\n  - environments\n  verbs:\n  - delete\n"
	if string(got) != wantPermissions {
		t.Errorf("configure permissions:\n%s\nwant:\n%s", got, wantPermissions)
	}
	if perms := promise.Spec.Workflows.Resource["delete"][0].Spec.RBAC.Permissions; len(perms) != 0 {
		t.Errorf("the delete pipeline needs no permissions, has %v", perms)
	}
	// One stage in each workflow: the environment image, which holds both
	// binaries (environment and environment-aws).
	want := map[string][]string{
		"configure": {"ghcr.io/promisekit/environment"},
		"delete":    {"ghcr.io/promisekit/environment"},
	}
	for action, pipelines := range promise.Spec.Workflows.Resource {
		var images []string
		for _, c := range pipelines[0].Spec.Containers {
			image, _, _ := strings.Cut(c.Image, ":")
			images = append(images, image)
		}
		if !slices.Equal(images, want[action]) {
			t.Errorf("%s images %q, want %q", action, images, want[action])
		}
	}
}
