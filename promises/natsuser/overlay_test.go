package natsuser

import (
	"bytes"
	"context"
	"crypto/rsa"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bitnami-labs/sealed-secrets/pkg/apis/sealedsecrets/v1alpha1"
	"github.com/bitnami-labs/sealed-secrets/pkg/crypto"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/overlaytest"
	"github.com/promisekit/promisekit/internal/stagetest"
	"github.com/promisekit/promisekit/pkg/kratix"
)

// withOverlays points the harness at a copy of its configuration that
// names the overlay directory dir.
func withOverlays(t *testing.T, h *stagetest.Harness, dir string) {
	t.Helper()
	base, err := os.ReadFile(h.Env[kratix.ConfigVariable])
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte(overlaytest.Config(string(base), dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for k, v := range h.Env {
		env[k] = v
	}
	env[kratix.ConfigVariable] = file
	h.Env = env
}

// TestOverlayExample runs the README's overlay over a user's SealedSecret:
// a first run without overlays, then runs with them, which carry the
// ciphertext forward. The SealedSecret differs only by the labels, gives
// the same bytes on every run, decodes strictly as sealed-secrets' own
// type, and unseals with the controller's code into a Secret carrying the
// template's label.
func TestOverlayExample(t *testing.T) {
	examples := overlaytest.Examples(t, "README.md")
	e := newSelfHosted(t)
	h := e.harness(t, "orders-api", ordersSpec)
	before := configure(t, h)

	withOverlays(t, h, overlaytest.Dir(t, examples["10-labels.yml"]))
	with := configure(t, h)
	again := configure(t, h)
	manifest := sealedSecret(t, with)
	if !bytes.Equal(manifest, sealedSecret(t, again)) {
		t.Errorf("the same overlay gave different bytes:\n%s\nthen:\n%s", manifest, sealedSecret(t, again))
	}
	overlaytest.Compare(t, before.Files, with.Files, func(t testing.TB, name string, doc map[string]any) {
		for _, l := range []struct {
			path []string
			want string
		}{
			{[]string{"metadata", "labels", "platform.example.com/cost-centre"}, "platform"},
			{[]string{"metadata", "labels", "platform.example.com/promise"}, "natsuser"},
			{[]string{"spec", "template", "metadata", "labels", "platform.example.com/team"}, "team-orders"},
		} {
			if got := overlaytest.Take(doc, l.path...); got != l.want {
				t.Errorf("%s: %v = %v, want %q", name, l.path, got, l.want)
			}
		}
	})

	var ss v1alpha1.SealedSecret
	if err := yaml.UnmarshalStrict(manifest, &ss); err != nil {
		t.Fatalf("the SealedSecret after the overlay: %v", err)
	}
	key, err := e.keys.SealingKey()
	if err != nil {
		t.Fatal(err)
	}
	fp, err := crypto.PublicKeyFingerprint(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := ss.Unseal(scheme.Codecs, map[string]*rsa.PrivateKey{fp: key})
	if err != nil {
		t.Fatalf("unsealing after the overlay: %v", err)
	}
	if got := secret.Labels["platform.example.com/team"]; got != "team-orders" {
		t.Errorf("the unsealed Secret's labels %v, want platform.example.com/team from the template", secret.Labels)
	}
	if !bytes.Equal(secret.Data[DefaultSecretKey], credsOf(t, before, e.keys)) {
		t.Error("the credentials changed under the overlay")
	}
}

// TestOverlayRefused: overlays that would break the user's credentials or
// leak them are refused, naming the overlay's file and line, and nothing
// is written.
func TestOverlayRefused(t *testing.T) {
	const head = "#@ load(\"@ytt:overlay\", \"overlay\")\n"
	tests := []struct {
		name, file, body, want string
	}{
		{
			name: "changed encryptedData",
			file: "30-reseal.yml",
			body: head + "#@overlay/match by=overlay.subset({\"kind\": \"SealedSecret\"})\n---\nspec:\n  encryptedData:\n    #@overlay/match missing_ok=True\n    user.creds: AgBAAAAA\n",
			want: `config.overlays: 30-reseal.yml:7: changes spec.encryptedData of SealedSecret team-orders/orders-api-nats (key "user.creds")`,
		},
		{
			name: "cluster-wide scope",
			file: "30-scope.yml",
			body: head + "#@overlay/match by=overlay.subset({\"kind\": \"SealedSecret\"})\n---\nmetadata:\n  #@overlay/match missing_ok=True\n  annotations:\n    #@overlay/match missing_ok=True\n    sealedsecrets.bitnami.com/cluster-wide: \"true\"\n",
			want: `config.overlays: 30-scope.yml:8: changes the sealing scope of SealedSecret team-orders/orders-api-nats`,
		},
		{
			name: "a plain Secret",
			file: "30-secret.yml",
			body: "---\napiVersion: v1\nkind: Secret\nmetadata: {name: copy, namespace: team-orders}\n",
			want: `config.overlays: 30-secret.yml:3: writes Secret "copy" in plain text`,
		},
		{
			name: "the SealedSecret removed",
			file: "30-remove.yml",
			body: head + "#@overlay/match by=overlay.subset({\"kind\": \"SealedSecret\"})\n#@overlay/remove\n---\n",
			want: `config.overlays: 30-remove.yml:2: removes or renames SealedSecret team-orders/orders-api-nats`,
		},
		{
			name: "not valid ytt",
			file: "30-bad.yml",
			body: head + "#@overlay/match by=overlay.subset({\"kind\": \"SealedSecret\"})\n---\nspec:\n  #@overlay/replace via=lambda a, b: a +\n  template: {}\n",
			want: `config.overlays: applying overlays: - got ')', want primary expression; 30-bad.yml:5`,
		},
	}
	e := newSelfHosted(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := e.harness(t, "orders-api", ordersSpec)
			withOverlays(t, h, overlaytest.Dir(t, overlaytest.Example{Name: tc.file, Body: tc.body}))
			out := h.Configure(context.Background())
			if out.Err == nil {
				t.Fatalf("configured with %s; want a refusal", tc.file)
			}
			msg := kratix.OneLine(out.Err)
			if !strings.Contains(msg, tc.want) || !strings.Contains(msg, tc.file+":") {
				t.Errorf("error %q; want it to contain %q and name the file and line", msg, tc.want)
			}
			if len(out.Files) != 0 {
				t.Errorf("wrote %v after a refusal", keys(out.Files))
			}
		})
	}
}
