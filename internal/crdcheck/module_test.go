package crdcheck

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestModuleFile(t *testing.T) {
	rootGoMod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	rootGoSum, err := os.ReadFile("../../go.sum")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, module, path string
		wantPrefix         string // start of the file, or of the error
		wantErr            bool
	}{
		{
			name:       "module required by go.mod",
			module:     "sigs.k8s.io/gateway-api",
			path:       httpRouteCRD,
			wantPrefix: "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition",
		},
		{
			// Kratix is not required by the root module (test/kratix
			// requires it), and is in the module cache.
			name:       "module@version not in go.mod",
			module:     "github.com/syntasso/kratix@v0.125.1-0.20250807132634-605d221cdabc",
			path:       "config/crd/bases/platform.kratix.io_promises.yaml",
			wantPrefix: "---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition",
		},
		{
			name:       "path outside the module",
			module:     "sigs.k8s.io/gateway-api",
			path:       "../../../etc/passwd",
			wantErr:    true,
			wantPrefix: `module file "../../../etc/passwd": not a path inside the module`,
		},
		{
			name:       "module not required",
			module:     "example.com/not/required",
			path:       "README.md",
			wantErr:    true,
			wantPrefix: "locating module example.com/not/required",
		},
		{
			name:       "missing file",
			module:     "sigs.k8s.io/gateway-api",
			path:       "config/crd/standard/nothing.yaml",
			wantErr:    true,
			wantPrefix: "open ",
		},
		{
			name:       "version missing",
			module:     "sigs.k8s.io/gateway-api@",
			path:       httpRouteCRD,
			wantErr:    true,
			wantPrefix: `module "sigs.k8s.io/gateway-api@": want path@version`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := ModuleFile(tt.module, tt.path)
			if tt.wantErr {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantPrefix) {
					t.Fatalf("ModuleFile() error = %v, want one starting %q", err, tt.wantPrefix)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(data, []byte(tt.wantPrefix)) {
				t.Errorf("ModuleFile() = %.80q…, want it to start %q", data, tt.wantPrefix)
			}
		})
	}
	for file, before := range map[string][]byte{"go.mod": rootGoMod, "go.sum": rootGoSum} {
		if after, err := os.ReadFile(filepath.Join("../..", file)); err != nil || !bytes.Equal(after, before) {
			t.Errorf("ModuleFile changed the root %s (err %v)", file, err)
		}
	}
}

func TestPromiseCRD(t *testing.T) {
	crd, err := os.ReadFile("testdata/widgets.yaml")
	if err != nil {
		t.Fatal(err)
	}
	promise := "apiVersion: platform.kratix.io/v1alpha1\nkind: Promise\nmetadata: {name: widget}\nspec:\n  api:\n" +
		indent(string(crd), "    ")

	t.Run("extracts spec.api", func(t *testing.T) {
		api, err := PromiseCRD([]byte(promise))
		if err != nil {
			t.Fatal(err)
		}
		v, err := Load(api)
		if err != nil {
			t.Fatal(err)
		}
		got := v.Validate([]byte("apiVersion: test.promisekit.dev/v1\nkind: Widget\nmetadata: {name: w}\nspec: {min: 12}\n"))
		want := `spec: Invalid value: min must not exceed max`
		if len(got) != 1 || got[0] != want {
			t.Errorf("Validate() = %q, want [%q]", got, want)
		}
	})

	tests := []struct {
		name, promise, wantErr string
	}{
		{"not a promise", strings.Replace(promise, "kind: Promise", "kind: Widget", 1), `not a platform.kratix.io/v1alpha1 Promise (apiVersion "platform.kratix.io/v1alpha1", kind "Widget")`},
		{"no api", "apiVersion: platform.kratix.io/v1alpha1\nkind: Promise\nmetadata: {name: bare}\nspec: {}\n", `promise "bare" has no spec.api`},
		{"not YAML", "a: [", "decoding promise: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := PromiseCRD([]byte(tt.promise))
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("PromiseCRD() error = %v, want one starting %q", err, tt.wantErr)
			}
		})
	}
}

func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}
