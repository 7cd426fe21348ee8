package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bitnami-labs/sealed-secrets/pkg/crypto"
	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/benchkit"
	"github.com/promisekit/promisekit/internal/devkeys"
)

// TestShellStagesMatchOurs runs each comparison's shell script and our stage
// once on the same request and checks that they write the same manifests,
// so that the benchmark compares equal work. It needs the binaries `make
// build bin/shell` builds, which `make test` builds first: without them it
// fails under CI=true (.ci/run) and skips otherwise.
func TestShellStagesMatchOurs(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	binDir := filepath.Join(root, "bin")
	for _, c := range comparisons() {
		t.Run(c.Binary, func(t *testing.T) {
			for _, f := range []string{c.Binary, "rusage", "shell/ytt", "shell/yq", "shell/kubeseal"} {
				if _, err := os.Stat(filepath.Join(binDir, f)); err != nil {
					if os.Getenv("CI") == "true" {
						t.Fatalf("bin/%s is not built (make build bin/shell): %v", f, err)
					}
					t.Skipf("bin/%s is not built (make build bin/shell): %v", f, err)
				}
			}
			ctx := context.Background()
			ws, err := newWorkspace(root, binDir)
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(ws.Dir)
			inv, env, err := c.Prepare(ctx, ws)
			if err != nil {
				t.Fatal(err)
			}
			shell, err := shellContender(ws, c.Script, env)
			if err != nil {
				t.Fatal(err)
			}
			objects := map[string][]byte{"bench request": inv.Object}
			if c.Binary == "apiaggregator" {
				// The other examples cover rewrites and the body-size policy.
				for _, ex := range []string{"invoices", "legacy-orders"} {
					if objects[ex], err = os.ReadFile(filepath.Join(root, "promises/apiaggregator/examples", ex+".yaml")); err != nil {
						t.Fatal(err)
					}
				}
			}
			for what, obj := range objects {
				inv := inv
				inv.Object = obj
				ourPod, err := benchkit.NewPod(ws.Dir, obj)
				if err != nil {
					t.Fatal(err)
				}
				ours := contender{argv: []string{filepath.Join(binDir, c.Binary)}}
				if _, err := ours.run(ctx, ourPod, inv, filepath.Join(binDir, "rusage")); err != nil {
					t.Fatalf("%s: our stage: %v", what, err)
				}
				shellPod, err := benchkit.NewPod(ws.Dir, obj)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := shell.run(ctx, shellPod, inv, filepath.Join(binDir, "rusage")); err != nil {
					t.Fatalf("%s: shell stage: %v", what, err)
				}
				want := readManifests(t, ourPod.Paths.OutputDir)
				got := readManifests(t, shellPod.Paths.OutputDir)
				if c.Binary == "natsuser" {
					checkSealed(t, got, env["NATS_CREDS_FILE"], filepath.Join(ws.Dir, "keys"))
					// Known differences: each stage's ciphertext (the Go
					// stage re-emits what it sealed when the user was
					// created, the script seals the fetched file anew), and
					// the SealedSecret's own labels and annotations, which
					// kubeseal leaves out (it copies the Secret's only into
					// spec.template.metadata) and our stage sets on both.
					for _, m := range []map[string]string{want, got} {
						for k, doc := range m {
							m[k] = maskSealed(t, doc)
						}
					}
				}
				if len(want) != len(got) {
					t.Errorf("%s: our stage wrote %d manifests, the script %d", what, len(want), len(got))
				}
				for name, w := range want {
					if g, ok := got[name]; !ok {
						t.Errorf("%s: the script wrote no %s", what, name)
					} else if g != w {
						t.Errorf("%s: %s differs after normalising:\n--- ours\n%s\n--- script\n%s", what, name, w, g)
					}
				}
			}
		})
	}
}

// readManifests reads every file of an output directory, keyed by its name
// without the extension (the script's yq writes .yml, our stage .yaml), and
// normalised by sigs.k8s.io/yaml: sorted keys, one indentation style.
func readManifests(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		norm, err := yaml.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))] = string(norm)
	}
	return out
}

// maskSealed replaces a SealedSecret's ciphertext by a placeholder and drops
// its top-level labels and annotations (those of spec.template stay).
func maskSealed(t *testing.T, doc string) string {
	t.Helper()
	var ss map[string]any
	if err := yaml.Unmarshal([]byte(doc), &ss); err != nil {
		t.Fatal(err)
	}
	if data, ok := dig(ss, "spec", "encryptedData").(map[string]any); ok {
		for k := range data {
			data[k] = "<ciphertext>"
		}
	}
	if meta, ok := ss["metadata"].(map[string]any); ok {
		delete(meta, "labels")
		delete(meta, "annotations")
	}
	out, err := yaml.Marshal(ss)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// checkSealed unseals the script's SealedSecret with the controller's
// private key and the label of its strict scope, and compares the result
// with the credentials file it was given: the script did seal them, for
// that Secret.
func checkSealed(t *testing.T, manifests map[string]string, credsFile, keysDir string) {
	t.Helper()
	keys, err := devkeys.Generate(keysDir, devkeys.Options{}) // reuses the set Prepare wrote
	if err != nil {
		t.Fatal(err)
	}
	priv, err := keys.SealingKey()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(credsFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(manifests) != 1 {
		t.Fatalf("the script wrote %d manifests, want one SealedSecret", len(manifests))
	}
	for name, doc := range manifests {
		var ss struct {
			Metadata struct{ Name, Namespace string }
			Spec     struct{ EncryptedData map[string]string } `json:"spec"`
		}
		if err := yaml.Unmarshal([]byte(doc), &ss); err != nil {
			t.Fatal(err)
		}
		if len(ss.Spec.EncryptedData) != 1 {
			t.Fatalf("%s: %d encrypted keys, want 1", name, len(ss.Spec.EncryptedData))
		}
		for key, b64 := range ss.Spec.EncryptedData {
			ct, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				t.Fatalf("%s: %s: %v", name, key, err)
			}
			fp, err := crypto.PublicKeyFingerprint(&priv.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			label := []byte(ss.Metadata.Namespace + "/" + ss.Metadata.Name)
			got, err := crypto.HybridDecrypt(rand.Reader, map[string]*rsa.PrivateKey{fp: priv}, ct, label)
			if err != nil {
				t.Fatalf("%s: unsealing %s: %v", name, key, err)
			}
			if string(got) != string(want) {
				t.Errorf("%s: %s unseals to something other than the fetched credentials", name, key)
			}
		}
	}
}

func dig(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}
