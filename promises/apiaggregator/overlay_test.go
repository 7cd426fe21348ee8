package apiaggregator

import (
	"bytes"
	"maps"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/promisekit/promisekit/internal/overlaytest"
	"github.com/promisekit/promisekit/internal/stagetest"
)

// TestOverlayExamples runs the README's overlay examples, alone and
// together, over the envoy-gateway golden requests: every document is
// still valid for its CRD (CEL included), a second run gives the same
// bytes, and each document equals the one written without overlays once
// the example's additions are taken out.
func TestOverlayExamples(t *testing.T) {
	examples := overlaytest.Examples(t, "README.md")
	config := string(readFile(t, filepath.Join("testdata", "config-envoy-gateway.yaml")))
	requests := goldenCases[0].requests
	without := runAll(t, config, requests)

	labels := func(t testing.TB, name string, doc map[string]any) {
		kind := doc["kind"].(string)
		promise := "apiaggregator"
		if owner := overlayRequestKind(name, without); owner == KindTarget {
			promise = "apiaggregatortarget"
		}
		for key, want := range map[string]string{"platform.example.com/cost-centre": "platform", "platform.example.com/promise": promise} {
			if got := overlaytest.Take(doc, "metadata", "labels", key); got != want {
				t.Errorf("%s (%s): label %s = %v, want %q", name, kind, key, got, want)
			}
		}
	}
	header := func(t testing.TB, name string, doc map[string]any) {
		if doc["kind"] != "HTTPRoute" || overlayRequestKind(name, without) != KindTarget {
			return
		}
		meta := doc["metadata"].(map[string]any)
		rules := doc["spec"].(map[string]any)["rules"].([]any)
		for i, r := range rules {
			rule := r.(map[string]any)
			filters, _ := rule["filters"].([]any)
			want := map[string]any{"type": "RequestHeaderModifier", "requestHeaderModifier": map[string]any{
				"set": []any{map[string]any{"name": "X-Portal-Team", "value": meta["namespace"]}},
			}}
			if len(filters) == 0 || !reflect.DeepEqual(filters[len(filters)-1], want) {
				t.Errorf("%s: rule %d filters %v, want the portal header last", name, i, filters)
				continue
			}
			if filters = filters[:len(filters)-1]; len(filters) == 0 {
				delete(rule, "filters")
			} else {
				rule["filters"] = filters
			}
		}
	}
	for _, tc := range []struct {
		name  string
		files []string
		undo  []func(testing.TB, string, map[string]any)
	}{
		{"labels", []string{"10-labels.yml"}, []func(testing.TB, string, map[string]any){labels}},
		{"portal header", []string{"20-portal-header.yml"}, []func(testing.TB, string, map[string]any){header}},
		{"both", []string{"10-labels.yml", "20-portal-header.yml"}, []func(testing.TB, string, map[string]any){labels, header}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var set []overlaytest.Example
			for _, f := range tc.files {
				set = append(set, examples[f])
			}
			dir := overlaytest.Dir(t, set...)
			with := runAll(t, overlaytest.Config(config, dir), requests)
			again := runAll(t, overlaytest.Config(config, dir), requests)
			for name, files := range with {
				if !maps.EqualFunc(files, again[name], bytes.Equal) {
					t.Errorf("%s: the same overlays gave different bytes", name)
				}
				checkDocuments(t, &stagetest.Outcome{Files: files})
				overlaytest.Compare(t, without[name], files, func(t testing.TB, file string, doc map[string]any) {
					for _, u := range tc.undo {
						u(t, name+"/"+file, doc)
					}
				})
			}
		})
	}
}

// runAll configures requests in order on a new platform and returns each
// one's output files, by request.
func runAll(t *testing.T, config string, requests []string) map[string]map[string][]byte {
	t.Helper()
	p := newPlatform(t, config)
	out := map[string]map[string][]byte{}
	for _, file := range requests {
		h := p.request(readFile(t, file))
		out[objectName(h)] = p.configure(h).Files
	}
	return out
}

// overlayRequestKind is the kind of the request whose output holds name
// ("<kind> <ns>/<name>/<file>").
func overlayRequestKind(name string, runs map[string]map[string][]byte) string {
	for req := range runs {
		if strings.HasPrefix(name, req+"/") {
			return strings.SplitN(req, " ", 2)[0]
		}
	}
	return ""
}
