package contract

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/syntasso/kratix/api/v1alpha1"
	"sigs.k8s.io/yaml"
)

// TestPromiseFiles checks every Promise in the repository as Kratix would
// admit it. Promise files are found afresh on every run.
func TestPromiseFiles(t *testing.T) {
	root := repoRoot(t)
	files, err := promiseFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no Promise files found (promises/*/*promise.yaml, test/example/promise.yaml)")
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(root, file))
			if err != nil {
				t.Fatal(err)
			}
			report := checkPromise(data)
			for _, f := range report.Newer {
				t.Logf("finding: %s uses %s, newer than the pinned Kratix types; checked against syntasso/kratix at %.8s", file, f, kratixUpstream)
			}
			if len(report.Problems) > 0 {
				t.Errorf("Kratix would refuse %s:\n  %s", file, strings.Join(report.Problems, "\n  "))
			}
			checkExampleNames(t, root, file, data)
		})
	}
}

// checkExampleNames checks the names of the example requests beside a
// Promise: Kratix installs the Promise's CRD with metadata.name limited to
// v1alpha1.MaxResourceNameLength characters (promise_types.go
// ensureMetadataSchema), so a longer example could never be created.
func checkExampleNames(t *testing.T, root, promiseFile string, promise []byte) {
	t.Helper()
	var p struct {
		Spec struct {
			API struct {
				Spec struct {
					Group string
					Names struct{ Kind string }
				}
			}
		}
	}
	if err := yaml.Unmarshal(promise, &p); err != nil {
		t.Fatal(err)
	}
	examples, err := filepath.Glob(filepath.Join(root, filepath.Dir(promiseFile), "examples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range examples {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var req struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct{ Name string }
		}
		if err := yaml.Unmarshal(data, &req); err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		group, _, _ := strings.Cut(req.APIVersion, "/")
		if req.Kind != p.Spec.API.Spec.Names.Kind || group != p.Spec.API.Spec.Group {
			continue // another promise's request, or not a request
		}
		if n := len(req.Metadata.Name); n > int(v1alpha1.MaxResourceNameLength) {
			t.Errorf("%s: metadata.name has %d characters; Kratix allows %d", file, n, v1alpha1.MaxResourceNameLength)
		}
	}
}

const basePromise = `
apiVersion: platform.kratix.io/v1alpha1
kind: Promise
metadata:
  name: thing
spec:
  api:
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: things.test.promisekit.dev
    spec:
      group: test.promisekit.dev
      scope: Namespaced
      names: {kind: Thing, plural: things, singular: thing}
      versions:
        - name: v1
          served: true
          storage: true
          schema:
            openAPIV3Schema:
              type: object
              properties:
                spec:
                  type: object
                  properties:
                    size: {type: integer}
  workflows:
    resource:
      configure:
        - apiVersion: platform.kratix.io/v1alpha1
          kind: Pipeline
          metadata: {name: make}
          spec:
            containers:
              - {name: make, image: ghcr.io/promisekit/thing:dev}
      delete:
        - apiVersion: platform.kratix.io/v1alpha1
          kind: Pipeline
          metadata: {name: unmake}
          spec:
            containers:
              - {name: unmake, image: ghcr.io/promisekit/thing:dev}
`

// TestCheckPromiseRules proves that each re-stated admission rule fires,
// and that a valid Promise passes.
func TestCheckPromiseRules(t *testing.T) {
	const (
		configure = "spec.workflows.resource.configure"
		deletes   = "spec.workflows.resource.delete"
	)
	pipeline := func(name string) map[string]any {
		return map[string]any{
			"apiVersion": "platform.kratix.io/v1alpha1", "kind": "Pipeline",
			"metadata": map[string]any{"name": name},
			"spec":     map[string]any{"containers": []any{map[string]any{"name": name, "image": "ghcr.io/promisekit/thing:dev"}}},
		}
	}
	tests := []struct {
		name      string
		edit      func(p map[string]any)
		want      string // a substring of the one problem expected; "" for none
		wantNewer string
	}{
		{name: "valid"},
		{
			name: "unknown Promise field",
			edit: func(p map[string]any) { set(p, "spec.dependency", []any{}) },
			want: `unknown field "dependency"`,
		},
		{
			name: "newer field: reconciliationInterval",
			edit: func(p map[string]any) {
				set(p, "spec.workflows.config", map[string]any{"reconciliationInterval": "1h"})
			},
			wantNewer: "spec.workflows.config.reconciliationInterval: 1h",
		},
		{
			name: "newer field: reconciliationInterval under a minute",
			edit: func(p map[string]any) {
				set(p, "spec.workflows.config", map[string]any{"reconciliationInterval": "30s"})
			},
			want:      "is not a Go duration of at least 1m",
			wantNewer: "spec.workflows.config.reconciliationInterval: 30s",
		},
		{
			name: "newer field: pipelineNamespace",
			edit: func(p map[string]any) {
				set(p, "spec.workflows.config", map[string]any{"pipelineNamespace": "promisekit-system"})
			},
			wantNewer: "spec.workflows.config.pipelineNamespace: promisekit-system",
		},
		{
			name: "newer field: pipelineNamespace not a namespace name",
			edit: func(p map[string]any) {
				set(p, "spec.workflows.config", map[string]any{"pipelineNamespace": "Platform_Pipelines"})
			},
			want:      `spec.workflows.config.pipelineNamespace: a lowercase RFC 1123 label`,
			wantNewer: "spec.workflows.config.pipelineNamespace: Platform_Pipelines",
		},
		{
			name: "newer field: pipelineNamespace not a string",
			edit: func(p map[string]any) {
				set(p, "spec.workflows.config", map[string]any{"pipelineNamespace": []any{"a"}})
			},
			want:      "spec.workflows.config.pipelineNamespace: [a] is not a string",
			wantNewer: "spec.workflows.config.pipelineNamespace: [a]",
		},
		{
			name: "newer field: both config fields",
			edit: func(p map[string]any) {
				set(p, "spec.workflows.config", map[string]any{"pipelineNamespace": "promisekit-system", "reconciliationInterval": "2h"})
			},
			wantNewer: "spec.workflows.config.pipelineNamespace: promisekit-system; spec.workflows.config.reconciliationInterval: 2h",
		},
		{
			name: "unknown workflows.config field",
			edit: func(p map[string]any) {
				set(p, "spec.workflows.config", map[string]any{"pipelineNamepsace": "promisekit-system"})
			},
			want: "spec.workflows.config.pipelineNamepsace: unknown field",
		},
		{
			name:      "newer field: restartPolicy Never",
			edit:      func(p map[string]any) { set(p, deletes+".0.spec.restartPolicy", "Never") },
			wantNewer: "spec.workflows.resource.delete[0].spec.restartPolicy: Never",
		},
		{
			name:      "newer field: restartPolicy",
			edit:      func(p map[string]any) { set(p, configure+".0.spec.restartPolicy", "Always") },
			want:      "spec.workflows.resource.configure[0].spec.restartPolicy: Always, want OnFailure or Never",
			wantNewer: "spec.workflows.resource.configure[0].spec.restartPolicy: Always",
		},
		{
			name: "unknown CRD field",
			edit: func(p map[string]any) { set(p, "spec.api.spec.scoop", "x") },
			want: `spec.api: unknown field "spec.scoop"`,
		},
		{
			name: "CRD without versions",
			edit: func(p map[string]any) { set(p, "spec.api.spec.versions", []any{}) },
			want: "spec.api.spec.versions: empty",
		},
		{
			name: "cluster-scoped API",
			edit: func(p map[string]any) { set(p, "spec.api.spec.scope", "Cluster") },
			want: `spec.api.spec.scope: "Cluster", but Kratix requires Namespaced`,
		},
		{
			name: "CRD the API server refuses",
			edit: func(p map[string]any) { set(p, "spec.api.metadata.name", "widgets.test.promisekit.dev") },
			want: `spec.api.metadata.name: Invalid value: "widgets.test.promisekit.dev": must be spec.names.plural+"."+spec.group`,
		},
		{
			name: "pipeline of another kind",
			edit: func(p map[string]any) { set(p, configure+".0.kind", "Job") },
			want: `unsupported pipeline "make"`,
		},
		{
			name: "unknown pipeline field",
			edit: func(p map[string]any) { set(p, configure+".0.spec.containerz", []any{}) },
			want: `unknown field "containerz"`,
		},
		{
			name: "duplicate pipeline names",
			edit: func(p map[string]any) { set(p, configure, []any{pipeline("make"), pipeline("make")}) },
			want: "workflows.resource.configure[1] (make): duplicate pipeline name",
		},
		{
			name: "pipeline name too long",
			edit: func(p map[string]any) { set(p, configure+".0.metadata.name", strings.Repeat("x", 40)) },
			want: "is 65 characters; Kratix allows 60",
		},
		{
			name: "two delete pipelines",
			edit: func(p map[string]any) { set(p, deletes, []any{pipeline("unmake"), pipeline("tidy")}) },
			want: "workflows.resource.delete: 2 pipelines; Kratix runs only the first",
		},
		{
			name: "delete pipeline without containers",
			edit: func(p map[string]any) { set(p, deletes+".0.spec.containers", []any{}) },
			want: "a delete pipeline needs a container",
		},
		{
			name: "container name not a DNS label",
			edit: func(p map[string]any) { set(p, configure+".0.spec.containers.0.name", "Make_It") },
			want: `spec.template.spec.initContainers[1].name: Invalid value: "Make_It"`,
		},
		{
			name: "duplicate container names",
			edit: func(p map[string]any) {
				c := at(p, configure+".0.spec.containers").([]any)
				set(p, configure+".0.spec.containers", append(c, c[0]))
			},
			want: `spec.template.spec.initContainers[2].name: Duplicate value: "make"`,
		},
		{
			name: "container named like one of Kratix's",
			edit: func(p map[string]any) { set(p, configure+".0.spec.containers.0.name", "reader") },
			want: `spec.template.spec.initContainers[1].name: Duplicate value: "reader"`,
		},
		{
			name: "volume mount without a volume",
			edit: func(p map[string]any) {
				set(p, configure+".0.spec.containers.0.volumeMounts", []any{map[string]any{"name": "config", "mountPath": "/etc/promisekit"}})
			},
			want: `spec.template.spec.initContainers[1].volumeMounts[3].name: Not found: "config"`,
		},
		{
			name: "invalid pipeline label",
			edit: func(p map[string]any) { set(p, configure+".0.metadata.labels", map[string]any{"team": "a b"}) },
			want: `workflows.resource.configure[0] (make).metadata.labels: Invalid value: "a b"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p map[string]any
			if err := yaml.Unmarshal([]byte(basePromise), &p); err != nil {
				t.Fatal(err)
			}
			if tt.edit != nil {
				tt.edit(p)
			}
			data, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			report := checkPromise(data)
			switch {
			case tt.want == "" && len(report.Problems) > 0:
				t.Errorf("problems:\n  %s\nwant none", strings.Join(report.Problems, "\n  "))
			case tt.want != "" && (len(report.Problems) != 1 || !strings.Contains(report.Problems[0], tt.want)):
				t.Errorf("problems:\n  %s\nwant exactly one containing %q", strings.Join(report.Problems, "\n  "), tt.want)
			}
			if got := strings.Join(report.Newer, "; "); got != tt.wantNewer {
				t.Errorf("newer fields = %q, want %q", got, tt.wantNewer)
			}
		})
	}
}

// at returns the value at a dotted path of map keys and list indices.
func at(v any, path string) any {
	for _, part := range strings.Split(path, ".") {
		switch c := v.(type) {
		case map[string]any:
			v = c[part]
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i >= len(c) {
				return nil
			}
			v = c[i]
		default:
			return nil
		}
	}
	return v
}

// set sets the value at a dotted path, creating maps on the way.
func set(obj map[string]any, path string, value any) {
	parent, last, _ := cutLast(path)
	var container any = obj
	if parent != "" {
		for _, part := range strings.Split(parent, ".") {
			next := at(container, part)
			if next == nil {
				next = map[string]any{}
				container.(map[string]any)[part] = next
			}
			container = next
		}
	}
	switch c := container.(type) {
	case map[string]any:
		c[last] = value
	case []any:
		i, _ := strconv.Atoi(last)
		c[i] = value
	}
}

func cutLast(path string) (string, string, bool) {
	i := strings.LastIndexByte(path, '.')
	if i < 0 {
		return "", path, false
	}
	return path[:i], path[i+1:], true
}
