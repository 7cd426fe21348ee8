package kratix

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func configMap(ns, name string, data map[string]string) map[string]any {
	return map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"data":     data,
	}
}

func testPaths(t *testing.T) Paths {
	root := t.TempDir()
	return Paths{
		InputFile:   filepath.Join(root, "input", "object.yaml"),
		OutputDir:   filepath.Join(root, "output"),
		MetadataDir: filepath.Join(root, "metadata"),
	}
}

var configure = Env{WorkflowAction: ActionConfigure, WorkflowType: TypeResource}

func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		data, _ := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = string(data)
		return nil
	})
	return files
}

func TestWriteIsDeterministic(t *testing.T) {
	res := &Result{
		Message: "ready",
		Status:  map[string]any{"b": 2, "a": map[string]any{"z": 1, "y": []any{"q"}}},
		Documents: []Document{
			{Object: configMap("team-a", "one", map[string]string{"k2": "v", "k1": "v"})},
			{Directory: "edge", Object: configMap("team-a", "two", nil)},
		},
		DestinationSelectors: []DestinationSelector{{Directory: "edge", MatchLabels: map[string]string{"zone": "edge"}}},
	}
	var trees []map[string]string
	for range 2 {
		p := testPaths(t)
		if err := Write(p, configure, "test", res); err != nil {
			t.Fatal(err)
		}
		tree := readTree(t, p.OutputDir)
		for _, f := range []string{"status.yaml", "destination-selectors.yaml"} {
			data, err := os.ReadFile(filepath.Join(p.MetadataDir, f))
			if err != nil {
				t.Fatal(err)
			}
			tree["metadata/"+f] = string(data)
		}
		trees = append(trees, tree)
	}
	if !reflect.DeepEqual(trees[0], trees[1]) {
		t.Fatalf("two writes differ:\n%v\n%v", trees[0], trees[1])
	}
	want := []string{"configmap_team-a_one.yaml", "edge/configmap_team-a_two.yaml", "metadata/destination-selectors.yaml", "metadata/status.yaml"}
	for _, f := range want {
		if _, ok := trees[0][f]; !ok {
			t.Errorf("missing %s in %v", f, keys(trees[0]))
		}
	}
	if got := trees[0]["metadata/status.yaml"]; got != "a:\n  \"y\":\n  - q\n  z: 1\nb: 2\nmessage: ready\n" {
		t.Errorf("status.yaml = %q", got)
	}
	if got := trees[0]["configmap_team-a_one.yaml"]; !strings.HasPrefix(got, "apiVersion: v1\ndata:\n  k1: v\n  k2: v\nkind: ConfigMap\n") {
		t.Errorf("document not sorted: %q", got)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestWriteReplacesOnlyItsOwnEarlierOutput(t *testing.T) {
	p := testPaths(t)
	// Another container of the same pipeline wrote this before us.
	if err := os.MkdirAll(p.OutputDir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(p.OutputDir, "from-other-container.yaml"), []byte("x: 1\n"), 0o644)

	first := &Result{Message: "one", Documents: []Document{
		{Object: configMap("ns", "old", nil)},
		{Object: configMap("ns", "kept", nil)},
	}}
	if err := Write(p, configure, "test", first); err != nil {
		t.Fatal(err)
	}
	// The retry in the same Pod produces a different set.
	second := &Result{Message: "two", Documents: []Document{
		{Object: configMap("ns", "kept", map[string]string{"v": "2"})},
		{Object: configMap("ns", "new", nil)},
	}}
	if err := Write(p, configure, "test", second); err != nil {
		t.Fatal(err)
	}
	got := readTree(t, p.OutputDir)
	want := []string{"configmap_ns_kept.yaml", "configmap_ns_new.yaml", "from-other-container.yaml"}
	if len(got) != len(want) {
		t.Fatalf("output = %v, want %v", keys(got), want)
	}
	for _, f := range want {
		if _, ok := got[f]; !ok {
			t.Errorf("missing %s", f)
		}
	}
	if !strings.Contains(got["configmap_ns_kept.yaml"], "v: \"2\"") {
		t.Errorf("kept file not rewritten: %q", got["configmap_ns_kept.yaml"])
	}
}

func TestWriteRefusesWithoutTouchingEarlierOutput(t *testing.T) {
	good := &Result{Message: "ok", Documents: []Document{{Object: configMap("ns", "a", nil)}},
		DestinationSelectors: []DestinationSelector{{MatchLabels: map[string]string{"env": "dev"}}}}
	secret := map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "s", "namespace": "ns"}, "data": map[string]any{"k": "dg=="}}
	tests := []struct {
		name    string
		res     *Result
		wantErr string
	}{
		{"no message", &Result{Documents: good.Documents}, "no status message"},
		{"kratix status key", &Result{Message: "m", Status: map[string]any{"kratix": 1}}, "reserved for Kratix"},
		{"message via status", &Result{Message: "m", Status: map[string]any{"message": "x"}}, "Result.Message"},
		{"plain secret", &Result{Message: "m", Documents: []Document{{Object: secret}}}, "refusing to write Secret"},
		{"no kind", &Result{Message: "m", Documents: []Document{{Object: map[string]any{"apiVersion": "v1", "metadata": map[string]any{"name": "x"}}}}}, "apiVersion, kind and metadata.name"},
		{"not an object", &Result{Message: "m", Documents: []Document{{Object: []string{"x"}}}}, "not an object"},
		{"unencodable", &Result{Message: "m", Documents: []Document{{Object: map[string]any{"f": func() {}}}}}, "encoding document"},
		{"two documents one file", &Result{Message: "m", Documents: []Document{{Object: configMap("ns", "a", nil)}, {Object: configMap("ns", "a", nil)}}}, "two documents"},
		{"directory without selector", &Result{Message: "m", Documents: []Document{{Directory: "edge", Object: configMap("ns", "a", nil)}}}, `directory "edge" has no destination selector`},
		{"empty selector", &Result{Message: "m", DestinationSelectors: []DestinationSelector{{Directory: "x"}}}, "matchLabels is empty"},
		{"nested selector directory", &Result{Message: "m", DestinationSelectors: []DestinationSelector{{Directory: "a/b", MatchLabels: map[string]string{"k": "v"}}}}, "single directory name"},
		{"escaping selector directory", &Result{Message: "m", DestinationSelectors: []DestinationSelector{{Directory: "..", MatchLabels: map[string]string{"k": "v"}}}}, "single directory name"},
		{"duplicate selector directory", &Result{Message: "m", DestinationSelectors: []DestinationSelector{
			{Directory: "x", MatchLabels: map[string]string{"k": "v"}}, {Directory: "x/", MatchLabels: map[string]string{"k": "w"}}}}, "appears twice"},
		{"bad label", &Result{Message: "m", DestinationSelectors: []DestinationSelector{{MatchLabels: map[string]string{"bad key!": "v"}}}}, "invalid label key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPaths(t)
			if err := Write(p, configure, "test", good); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, p)
			err := Write(p, configure, "test", tt.res)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
			if after := snapshot(t, p); !reflect.DeepEqual(before, after) {
				t.Errorf("a refused write changed files:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

func snapshot(t *testing.T, p Paths) map[string]string {
	tree := readTree(t, p.OutputDir)
	for k, v := range readTree(t, p.MetadataDir) {
		tree["metadata/"+k] = v
	}
	return tree
}

func TestFileNamesStayInsideTheOutputDirectory(t *testing.T) {
	hostile := []string{"../../etc/passwd", "..", ".", "/abs/path", "a/../../b", "UPPER.Case", "ünïcødé", strings.Repeat("x", 400), "", "a\x00b"}
	p := testPaths(t)
	var docs []Document
	for i, name := range hostile {
		docs = append(docs, Document{Object: map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": name + strings.Repeat("-", i), "namespace": "../" + name},
		}})
	}
	if err := Write(p, configure, "test", &Result{Message: "m", Documents: docs}); err != nil {
		t.Fatal(err)
	}
	parent := filepath.Dir(p.OutputDir)
	entries, _ := os.ReadDir(parent)
	for _, e := range entries {
		if n := e.Name(); n != "output" && n != "metadata" {
			t.Errorf("a file escaped the output directory: %s", n)
		}
	}
	written := readTree(t, p.OutputDir)
	if len(written) != len(hostile) {
		t.Errorf("wrote %d files for %d objects: %v", len(written), len(hostile), keys(written))
	}
	for name := range written {
		if strings.Contains(name, "/") || strings.HasPrefix(name, ".") || len(name) > 255 {
			t.Errorf("unsafe file name %q", name)
		}
	}
}

func TestDeleteWritesStatusOnly(t *testing.T) {
	p := testPaths(t)
	del := Env{WorkflowAction: ActionDelete, WorkflowType: TypeResource}
	if err := Write(p, del, "test", &Result{Message: "deleted", Documents: []Document{{Object: configMap("ns", "a", nil)}}}); err != nil {
		t.Fatal(err)
	}
	if tree := readTree(t, p.OutputDir); len(tree) != 0 {
		t.Errorf("delete wrote output: %v", keys(tree))
	}
	if data, _ := os.ReadFile(filepath.Join(p.MetadataDir, "status.yaml")); string(data) != "message: deleted\n" {
		t.Errorf("status.yaml = %q", data)
	}
}

// A stage that fails must exit non-zero with exactly one line on stderr and
// leave the earlier output as it was. The test runs itself as the stage.
func TestMainFailsWithOneLine(t *testing.T) {
	if os.Getenv("KRATIX_TEST_AS_STAGE") == "1" {
		Main("teststage", Workflows{ResourceConfigure: func(ctx context.Context, req *Request) (*Result, error) {
			var spec testSpec
			if err := req.Object.DecodeSpec(&spec); err != nil {
				return nil, err
			}
			if spec.Port == 0 {
				return nil, errors.New("spec.port: required\nmore detail on a second line")
			}
			return &Result{Message: "ok", Documents: []Document{{Object: configMap("ns", spec.Name, nil)}}}, nil
		}})
		return
	}
	p := testPaths(t)
	run := func(spec string) (string, error) {
		os.MkdirAll(filepath.Dir(p.InputFile), 0o755)
		os.WriteFile(p.InputFile, []byte("apiVersion: x.io/v1\nkind: T\nmetadata: {name: a, namespace: ns}\nspec: "+spec+"\n"), 0o644)
		cmd := exec.Command(os.Args[0], "-test.run=^TestMainFailsWithOneLine$")
		cmd.Env = append(os.Environ(), "KRATIX_TEST_AS_STAGE=1",
			"KRATIX_WORKFLOW_ACTION=configure", "KRATIX_WORKFLOW_TYPE=resource",
			"KRATIX_INPUT_FILE="+p.InputFile, "KRATIX_OUTPUT_DIR="+p.OutputDir, "KRATIX_METADATA_DIR="+p.MetadataDir)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		return stderr.String(), err
	}
	if stderr, err := run("{name: good, port: 80}"); err != nil {
		t.Fatalf("good run failed: %v: %s", err, stderr)
	}
	before := snapshot(t, p)
	for _, tt := range []struct{ spec, want string }{
		{"{name: good, prot: 80}", "teststage: spec.prot: unknown field\n"},
		{"{name: good}", "teststage: spec.port: required; more detail on a second line\n"},
	} {
		stderr, err := run(tt.spec)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Errorf("spec %s: exit = %v, want status 1", tt.spec, err)
		}
		if stderr != tt.want {
			t.Errorf("spec %s: stderr = %q, want %q", tt.spec, stderr, tt.want)
		}
		if after := snapshot(t, p); !reflect.DeepEqual(before, after) {
			t.Errorf("spec %s: the failed run changed the earlier output", tt.spec)
		}
	}
}
