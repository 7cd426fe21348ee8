package environment

import (
	"bytes"
	"context"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/promisekit/promisekit/internal/stagetest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// goldenCases are the requests whose complete output is kept in testdata.
var goldenCases = []struct {
	name    string
	request string
	config  string
}{
	{"preview-ack", "examples/preview.yaml", "examples/platform/ack.yaml"},
	{"development-ack", "examples/development.yaml", "examples/platform/ack.yaml"},
	{"development-defaults", "examples/development.yaml", ""},
}

// TestGolden compares each case's manifests and status.yaml with the
// golden files, then runs the stage again with the status Kratix merged
// and requires byte-identical output: a re-run changes nothing in git.
func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			h := newPipeline(t, request(t, tc.request, nil), tc.config, nil)
			first := h.Configure(context.Background())
			if first.Err != nil {
				t.Fatal(first.Err)
			}
			got := maps.Clone(first.Files)
			got["status.yaml"] = first.StatusYAML
			checkGolden(t, filepath.Join("testdata", "golden", tc.name), got)

			second := h.Configure(context.Background())
			if second.Err != nil {
				t.Fatal(second.Err)
			}
			if !equalFiles(first.Files, second.Files) || !bytes.Equal(first.StatusYAML, second.StatusYAML) {
				t.Errorf("re-run changed the output or status:\nfirst status:\n%s\nsecond status:\n%s", first.StatusYAML, second.StatusYAML)
			}
		})
	}
}

func checkGolden(t *testing.T, dir string, got map[string][]byte) {
	t.Helper()
	if *update {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		for name, data := range got {
			file := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	want := stagetest.ReadTree(t, dir)
	if len(want) == 0 {
		t.Fatalf("no golden files in %s; run go test -run TestGolden -update", dir)
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if _, ok := got[name]; !ok {
			t.Errorf("%s: missing from the output", name)
		} else if !bytes.Equal(got[name], want[name]) {
			t.Errorf("%s differs from %s:\n got:\n%s\nwant:\n%s", name, dir, got[name], want[name])
		}
	}
	for _, name := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: not in %s (run go test -run TestGolden -update after review)", name, dir)
		}
	}
}

func equalFiles(a, b map[string][]byte) bool {
	return maps.EqualFunc(a, b, bytes.Equal)
}
