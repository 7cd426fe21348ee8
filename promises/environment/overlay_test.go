package environment

import (
	"bytes"
	"context"
	"maps"
	"os"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/crdcheck"
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
	validators := map[string]*crdcheck.Validator{
		"argoproj.io/v1alpha1/Application":      loadCRD(t, argoCDModule, "manifests/crds/application-crd.yaml"),
		"external-secrets.io/v1/SecretStore":    loadCRD(t, externalSecretsModule, "config/crds/bases/external-secrets.io_secretstores.yaml"),
		"external-secrets.io/v1/ExternalSecret": loadCRD(t, externalSecretsModule, "config/crds/bases/external-secrets.io_externalsecrets.yaml"),
	}
	without := renderAll(t)

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
			for _, vc := range validationCases {
				with := renderWithOverlays(t, vc.name, vc.request, vc.config, dir)
				again := renderWithOverlays(t, vc.name, vc.request, vc.config, dir)
				if !maps.EqualFunc(with, again, bytes.Equal) {
					t.Errorf("%s: the same overlays gave different bytes", vc.name)
				}
				for file, data := range with {
					validateDocument(t, validators, vc.name+"/"+file, data)
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

// renderWithOverlays runs one validation case with the overlays in dir
// added to its configuration.
func renderWithOverlays(t *testing.T, name, request_, configFile, dir string) map[string][]byte {
	t.Helper()
	base := ""
	switch {
	case name == "development-pod-identity":
		base = podIdentityConfig
	case configFile != "":
		data, err := os.ReadFile(configFile)
		if err != nil {
			t.Fatal(err)
		}
		base = string(data)
	}
	h := newPipeline(t, request(t, request_, nil), writeConfig(t, overlaytest.Config(base, dir)), nil)
	o := h.Configure(context.Background())
	if o.Err != nil {
		t.Fatalf("%s with overlays: %v", name, o.Err)
	}
	return o.Files
}

// validateDocument checks one document as TestManifestsValidate does.
func validateDocument(t *testing.T, validators map[string]*crdcheck.Validator, name string, data []byte) {
	t.Helper()
	var h header
	if err := yaml.Unmarshal(data, &h); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	kind := h.APIVersion + "/" + h.Kind
	if v, ok := validators[kind]; ok {
		for _, p := range v.Validate(data) {
			t.Errorf("%s: %s", name, p)
		}
		return
	}
	typed, ok := coreTypes[kind]
	if !ok {
		typed, ok = ackTypes[kind]
	}
	if !ok {
		t.Errorf("%s: no schema to check a %s against", name, kind)
		return
	}
	if err := yaml.UnmarshalStrict(data, typed()); err != nil {
		t.Errorf("%s: %v", name, err)
	}
}
