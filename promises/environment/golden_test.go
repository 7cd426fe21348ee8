package environment

import (
	"bytes"
	"context"
	"flag"
	"maps"
	"path/filepath"
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
			stagetest.CompareGolden(t, filepath.Join("testdata", "golden", tc.name), got, *update)

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

func equalFiles(a, b map[string][]byte) bool {
	return maps.EqualFunc(a, b, bytes.Equal)
}
