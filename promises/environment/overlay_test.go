package environment

import (
	"bytes"
	"maps"
	"testing"

	"github.com/promisekit/promisekit/internal/overlaytest"
)

// TestOverlayExamples runs the README's overlay examples, alone and
// together, over every validation case: each document still validates
// against its schema (Argo CD and External Secrets CRDs with CEL, strict
// Kubernetes and ACK types), a second run gives the same bytes, and each
// document equals the one written without overlays once the example's
// additions are taken out.
func TestOverlayExamples(t *testing.T) {
	examples := overlaytest.Examples(t, "README.md")
	validators := manifestValidators(t)
	without := renderAll(t, "")

	labels := func(t testing.TB, name string, doc map[string]any) {
		for key, want := range map[string]string{"platform.example.com/cost-centre": "platform", "platform.example.com/promise": "environment"} {
			if got := overlaytest.Take(doc, "metadata", "labels", key); got != want {
				t.Errorf("%s: label %s = %v, want %q", name, key, got, want)
			}
		}
	}
	waves := func(t testing.TB, name string, doc map[string]any) {
		want := map[string]string{"v1/Namespace": "-1", "argoproj.io/v1alpha1/Application": "1"}[doc["apiVersion"].(string)+"/"+doc["kind"].(string)]
		if got := overlaytest.Take(doc, "metadata", "annotations", "argocd.argoproj.io/sync-wave"); (want == "" && got != nil) || (want != "" && got != want) {
			t.Errorf("%s: sync wave %v, want %q", name, got, want)
		}
	}
	for _, tc := range []struct {
		name  string
		files []string
		undo  []func(testing.TB, string, map[string]any)
	}{
		{"labels", []string{"10-labels.yml"}, []func(testing.TB, string, map[string]any){labels}},
		{"sync waves", []string{"20-sync-waves.yml"}, []func(testing.TB, string, map[string]any){waves}},
		{"both", []string{"10-labels.yml", "20-sync-waves.yml"}, []func(testing.TB, string, map[string]any){labels, waves}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var set []overlaytest.Example
			for _, f := range tc.files {
				set = append(set, examples[f])
			}
			dir := overlaytest.Dir(t, set...)
			withAll, againAll := renderAll(t, dir), renderAll(t, dir)
			for _, vc := range validationCases {
				with := withAll[vc.name]
				if !maps.EqualFunc(with, againAll[vc.name], bytes.Equal) {
					t.Errorf("%s: the same overlays gave different bytes", vc.name)
				}
				for file, data := range with {
					for _, p := range validateDocument(t, validators, data) {
						t.Errorf("%s/%s: %s", vc.name, file, p)
					}
				}
				overlaytest.Compare(t, without[vc.name], with, func(t testing.TB, file string, doc map[string]any) {
					for _, u := range tc.undo {
						u(t, vc.name+"/"+file, doc)
					}
				})
			}
		})
	}
}
