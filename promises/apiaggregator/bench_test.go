package apiaggregator

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/kratixsim"
	"github.com/promisekit/promisekit/internal/stagetest"
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/platformapi"
)

// BenchmarkRenderTarget renders a target's documents with ytt (its routes,
// and Envoy Gateway's body-size policy), by number of paths.
func BenchmarkRenderTarget(b *testing.B) {
	for _, n := range []int{2, 16, maxPaths} {
		b.Run(fmt.Sprintf("paths=%d", n), func(b *testing.B) {
			spec := targetSpec{
				AggregatorRef: objectRef{Name: "portal", Namespace: "platform"},
				Service:       serviceRef{Name: "orders", Port: 8080},
				Timeouts:      &routeTimeouts{Request: "30s", BackendRequest: "10s"},
			}
			for i := range n {
				spec.Paths = append(spec.Paths, pathRule{Prefix: fmt.Sprintf("/orders/p%03d", i)})
			}
			values := targetValues{
				Name: "orders", Namespace: "team-orders",
				Labels:   map[string]string{labelAggregator: "portal", labelTarget: "orders"},
				Parent:   parentRef{Kind: "Gateway", Namespace: "gateways", Name: "portal", SectionName: listenerHTTPS},
				Backend:  backendValues{Name: "orders", Port: 8080},
				Timeouts: spec.Timeouts,
				Routes:   spec.routeLayout("orders"),
				BodySize: &bodySize{Limit: "10Mi", Bytes: 10 << 20},
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := renderStage(targetTemplates, EnvoyGateway, &values); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/path")
		})
	}
}

// BenchmarkCheckConflicts measures the prefix check against many siblings,
// the part of a target's stage that grows with the aggregator.
func BenchmarkCheckConflicts(b *testing.B) {
	const n = 1000
	siblings := make([]sibling, n)
	for i := range siblings {
		siblings[i] = sibling{
			claimant: claimant{Namespace: "team", Name: fmt.Sprintf("svc-%04d", i), Created: t0.Add(time.Duration(i) * time.Second)},
			Prefixes: []string{fmt.Sprintf("/svc-%04d/v1", i), fmt.Sprintf("/svc-%04d/v2", i), fmt.Sprintf("/svc-%04d/admin", i)},
		}
	}
	me := claimant{Namespace: "team", Name: "me", Created: t0.Add(time.Hour)}
	paths := []pathRule{{Prefix: "/me/v1"}, {Prefix: "/me/v2"}}
	ref := objectRef{Namespace: "platform", Name: "portal"}
	for b.Loop() {
		if err := checkConflicts(paths, me, ref, siblings); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sibling")
}

// BenchmarkConfigureTarget runs a target's whole configure stage
// in-process, as kratix.Run does in the binary, against the local platform
// API with a number of sibling targets: decoding, listing, checking,
// rendering and writing.
func BenchmarkConfigureTarget(b *testing.B) {
	for _, siblings := range []int{2, 100, 1000} {
		b.Run(fmt.Sprintf("siblings=%d", siblings), func(b *testing.B) {
			api := b.TempDir()
			put := func(r platformapi.Resource, obj map[string]any) {
				meta := obj["metadata"].(map[string]any)
				file, err := platformapi.LocalPath(api, r, meta["namespace"].(string), meta["name"].(string))
				if err != nil {
					b.Fatal(err)
				}
				data, _ := yaml.Marshal(obj)
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					b.Fatal(err)
				}
				if err := os.WriteFile(file, data, 0o644); err != nil {
					b.Fatal(err)
				}
			}
			put(aggregatorsAPI, map[string]any{
				"apiVersion": Group + "/v1alpha1", "kind": KindAggregator,
				"metadata": map[string]any{"name": "portal", "namespace": "platform", "creationTimestamp": t0.Format(time.RFC3339)},
				"status": map[string]any{"apiAggregator": map[string]any{
					"schemaVersion": 1, "hostname": "api.example.com", "implementation": EnvoyGateway,
					"parent":          map[string]any{"kind": "Gateway", "namespace": "platform", "name": "portal", "sectionName": listenerHTTPS},
					"routeNamespaces": map[string]any{"names": []any{"team-orders"}},
				}},
			})
			for i := range siblings {
				put(targetsAPI, map[string]any{
					"apiVersion": Group + "/v1alpha1", "kind": KindTarget,
					"metadata": map[string]any{"name": fmt.Sprintf("svc-%04d", i), "namespace": "team-orders", "creationTimestamp": t0.Add(time.Duration(i) * time.Second).Format(time.RFC3339)},
					"spec": map[string]any{
						"aggregatorRef": map[string]any{"name": "portal", "namespace": "platform"},
						"service":       map[string]any{"name": "svc", "port": 80},
						"paths":         []any{map[string]any{"prefix": fmt.Sprintf("/svc-%04d", i)}},
					},
				})
			}
			var obj map[string]any
			if err := yaml.Unmarshal(readFile(b, "examples/orders.yaml"), &obj); err != nil {
				b.Fatal(err)
			}
			obj["metadata"].(map[string]any)["creationTimestamp"] = t0.Add(time.Hour).Format(time.RFC3339)
			input, _ := yaml.Marshal(obj)
			root := b.TempDir()
			paths := kratix.Paths{
				InputFile:   filepath.Join(root, "object.yaml"),
				OutputDir:   filepath.Join(root, "output"),
				MetadataDir: filepath.Join(root, "metadata"),
			}
			if err := os.WriteFile(paths.InputFile, input, 0o644); err != nil {
				b.Fatal(err)
			}
			env := kratixsim.Env(obj, workflowOf(b, KindTarget))
			env["KRATIX_INPUT_FILE"], env["KRATIX_OUTPUT_DIR"], env["KRATIX_METADATA_DIR"] = paths.InputFile, paths.OutputDir, paths.MetadataDir
			env[kratix.ConfigVariable] = stagetest.EmptyConfig(b)
			getenv := func(k string) string { return env[k] }
			w := Workflows(func(func(string) string, ...platformapi.Option) (platformapi.API, error) {
				return platformapi.NewDir(api), nil
			})
			b.ReportAllocs()
			for b.Loop() {
				if err := kratix.Run(context.Background(), "apiaggregator", w, getenv); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/run")
		})
	}
}
