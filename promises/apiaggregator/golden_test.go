package apiaggregator

import (
	"bytes"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/promisekit/promisekit/internal/stagetest"
	"github.com/promisekit/promisekit/pkg/kratix"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// goldenCases run requests in order on one platform; each request's output,
// status and destination selectors are compared with
// testdata/golden/<case>/<namespace>.<name>/.
var goldenCases = []struct {
	name     string
	config   string // file under testdata, "" for the embedded defaults
	requests []string
}{
	{"envoy-gateway", "config-envoy-gateway.yaml", []string{
		"examples/portal.yaml", "examples/orders.yaml", "examples/legacy-orders.yaml", "examples/invoices.yaml",
		"testdata/requests/edge-cidrs.yaml",
	}},
	{"kgateway", "config-kgateway.yaml", []string{
		"examples/portal.yaml", "examples/invoices.yaml", "testdata/requests/catalog.yaml",
		"testdata/requests/edge-hops.yaml",
	}},
	{"shared-gateway", "config-shared-gateway.yaml", []string{
		"examples/portal.yaml", "examples/orders.yaml", "examples/invoices.yaml",
		"testdata/requests/edge-hops.yaml",
	}},
	{"traefik", "config-traefik.yaml", []string{
		"examples/portal.yaml", "examples/orders.yaml", "examples/legacy-orders.yaml", "examples/invoices.yaml",
		"testdata/requests/catalog.yaml",
	}},
	{"defaults", "", []string{"examples/portal.yaml", "examples/orders.yaml"}},
}

// TestGolden renders every example and compares the result with the golden
// files (go test -run TestGolden -update rewrites them). Each request is
// configured twice more, as Kratix's scheduled re-runs would, and must give
// byte-identical output and status; every document must be valid for the
// cluster; and no run may make anything but list calls.
func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			config := ""
			if tc.config != "" {
				config = string(readFile(t, filepath.Join("testdata", tc.config)))
			}
			p := newPlatform(t, config)
			harnesses := make([]*stagetest.Harness, len(tc.requests))
			for i, file := range tc.requests {
				harnesses[i] = p.request(readFile(t, file))
			}
			for _, h := range harnesses {
				first := p.configure(h)
				checkDocuments(t, first)
				dir := filepath.Join("testdata", "golden", tc.name, goldenName(h))
				stagetest.CompareGolden(t, dir, goldenFiles(first), *update)
				for range 2 {
					again := p.configure(h)
					if !maps.EqualFunc(first.Files, again.Files, bytes.Equal) || !bytes.Equal(first.StatusYAML, again.StatusYAML) || !bytes.Equal(first.Selectors, again.Selectors) {
						t.Errorf("%s: a re-run changed the output or status", objectName(h))
					}
				}
			}
			for _, r := range p.api.Requests() {
				if !strings.HasPrefix(r, "GET ") {
					t.Errorf("stage made a call other than a list: %s", r)
				}
			}
		})
	}
}

func goldenName(h *stagetest.Harness) string {
	meta := h.Object["metadata"].(map[string]any)
	return meta["namespace"].(string) + "." + meta["name"].(string)
}

// goldenFiles lays a run out as its golden directory holds it.
func goldenFiles(out *stagetest.Outcome) map[string][]byte {
	files := map[string][]byte{"status.yaml": out.StatusYAML}
	if out.Selectors != nil {
		files["destination-selectors.yaml"] = out.Selectors
	}
	for name, data := range out.Files {
		files["output/"+name] = data
	}
	return files
}

// TestExamplesAgainstCRDs checks that the example requests are valid for
// their Promise's own CRD, CEL rules included.
func TestExamplesAgainstCRDs(t *testing.T) {
	files, err := filepath.Glob("examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	more, err := filepath.Glob("testdata/requests/*.yaml")
	if err != nil || len(more) == 0 {
		t.Fatalf("no test requests: %v", err)
	}
	files = append(files, more...)
	for _, file := range files {
		data := readFile(t, file)
		v := promiseValidator(t, kindOf(t, data))
		if problems := v.Validate(data); len(problems) > 0 {
			t.Errorf("%s: %s", file, strings.Join(problems, "; "))
		}
	}
}

// TestGoldenAgainstAPIServer runs the golden cases again with a real API
// server as the platform API: the objects as the server stores them, every
// call authorized by exactly the Promises' own rules. The output and status
// must be the golden files, byte for byte.
func TestGoldenAgainstAPIServer(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			p := newServerPlatform(t, targetRules(t))
			if tc.config != "" {
				config := filepath.Join(t.TempDir(), "config.yaml")
				if err := os.WriteFile(config, readFile(t, filepath.Join("testdata", tc.config)), 0o644); err != nil {
					t.Fatal(err)
				}
				p.env = map[string]string{kratix.ConfigVariable: config}
			}
			// Every request exists before any is configured, as in
			// TestGolden, so that each target sees the same siblings.
			harnesses := make([]*stagetest.Harness, len(tc.requests))
			for i, file := range tc.requests {
				harnesses[i] = p.request(readFile(t, file))
			}
			for _, h := range harnesses {
				out := p.configure(h)
				if out.Err != nil {
					t.Fatalf("configure %s: %v", objectName(h), out.Err)
				}
				dir := filepath.Join("testdata", "golden", tc.name, goldenName(h))
				stagetest.CompareGolden(t, dir, goldenFiles(out), false)
			}
			if d := p.denied.All(); len(d) > 0 {
				t.Errorf("calls outside the Promises' rules: %v", d)
			}
		})
	}
}
