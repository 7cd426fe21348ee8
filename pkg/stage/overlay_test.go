package stage

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/overlays/pass"
)

// The overlay test promise writes a ConfigMap and a SealedSecret to the
// destination its request names.
type sealSpec struct {
	Destination string `json:"destination"`
}

type sealConfig struct {
	Kratix `json:"kratix,omitempty"`
	PlatformOverlays
}

type sealedSecret struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   map[string]any `json:"metadata"`
	Spec       map[string]any `json:"spec"`
}

func sealStage() *Stage[sealSpec, sealConfig, struct{}, struct{}] {
	return &Stage[sealSpec, sealConfig, struct{}, struct{}]{
		API:      API{APIVersion: "test.promisekit.dev/v1", Kind: "Vault"},
		Config:   ConfigFile[sealConfig]{Default: func() *sealConfig { return &sealConfig{} }},
		Overlays: pass.Run,
		Configure: func(in *Input[sealSpec, sealConfig, struct{}]) (Plan[struct{}], error) {
			dir := in.Spec.Destination
			res := &kratix.Result{Message: "sealed", Documents: []kratix.Document{
				{Directory: dir, Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "v", "namespace": in.Namespace}}},
				{Directory: dir, Object: sealedSecret{
					APIVersion: "bitnami.com/v1alpha1", Kind: "SealedSecret",
					Metadata: map[string]any{"name": "v", "namespace": in.Namespace},
					Spec: map[string]any{
						"encryptedData": map[string]any{"password": "AgBy3i4OJSWK+PiTySYZZA=="},
						"template":      map[string]any{"metadata": map[string]any{"name": "v", "namespace": in.Namespace}},
					},
				}},
			}}
			if dir != "" {
				res.DestinationSelectors = []kratix.DestinationSelector{{Directory: dir, MatchLabels: map[string]string{"cluster": dir}}}
			}
			return Done[struct{}]{Result: res}, nil
		},
	}
}

const vault = "apiVersion: test.promisekit.dev/v1\nkind: Vault\nmetadata: {name: v, namespace: team-a}\nspec: {destination: eu}\n"

const overlayHead = "#@ load(\"@ytt:overlay\", \"overlay\")\n#@ load(\"@ytt:data\", \"data\")\n"

// writeOverlays writes files as a directory and returns the configuration
// naming it, with extra settings.
func writeOverlays(t *testing.T, files map[string]string, extra string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return "overlays: " + dir + "\n" + extra
}

func docsJSON(t *testing.T, res *kratix.Result) string {
	t.Helper()
	var b strings.Builder
	for _, d := range res.Documents {
		js, err := json.Marshal(d.Object)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(d.Directory + " " + string(js) + "\n")
	}
	return b.String()
}

func TestOverlays(t *testing.T) {
	const (
		cm = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"v","namespace":"team-a"}}`
		ss = `{"apiVersion":"bitnami.com/v1alpha1","kind":"SealedSecret","metadata":{"name":"v","namespace":"team-a"},"spec":{"encryptedData":{"password":"AgBy3i4OJSWK+PiTySYZZA=="},"template":{"metadata":{"name":"v","namespace":"team-a"}}}}`
	)
	labels := overlayHead + `#@overlay/match by=overlay.all, expects="1+"
---
metadata:
  #@overlay/match missing_ok=True
  labels:
    #@overlay/match missing_ok=True
    example.com/owner: #@ "{}.{}.{}.{}.{}".format(data.values.promise, data.values.request.kind, data.values.request.namespace, data.values.request.name, data.values.destination)
`
	tests := []struct {
		name    string
		files   map[string]string
		extra   string // more configuration
		want    string // documents, as docsJSON gives them
		wantErr string
		// wantSuspend: the refusal is reported through workflow control.
		wantSuspend bool
	}{
		{
			name:  "an empty overlay directory changes nothing",
			files: map[string]string{},
			want:  "eu " + cm + "\neu " + ss + "\n",
		},
		{
			name:  "labels from the data values",
			files: map[string]string{"labels.yml": labels},
			want: `eu {"apiVersion":"v1","kind":"ConfigMap","metadata":{"labels":{"example.com/owner":"vaults.Vault.team-a.v.eu"},"name":"v","namespace":"team-a"}}
eu {"apiVersion":"bitnami.com/v1alpha1","kind":"SealedSecret","metadata":{"labels":{"example.com/owner":"vaults.Vault.team-a.v.eu"},"name":"v","namespace":"team-a"},"spec":{"encryptedData":{"password":"AgBy3i4OJSWK+PiTySYZZA=="},"template":{"metadata":{"name":"v","namespace":"team-a"}}}}
`,
		},
		{
			name:  "an added ConfigMap goes to the same destination",
			files: map[string]string{"quota.yml": "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra, namespace: team-a}\n"},
			want:  "eu " + cm + "\neu " + ss + "\neu " + `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"extra","namespace":"team-a"}}` + "\n",
		},
		{
			name:    "a plain Secret is refused with its file and line",
			files:   map[string]string{"labels.yml": labels, "secret.yml": "#! a platform default\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: token}\nstringData: {token: x}\n"},
			wantErr: `config.overlays: secret.yml:4: writes Secret "token" in plain text to the state store`,
		},
		{
			name:    "turning a document into a plain Secret names the line of kind",
			files:   map[string]string{"kind.yml": overlayHead + "#@overlay/match by=overlay.subset({\"kind\": \"ConfigMap\"})\n---\napiVersion: v1\nkind: Secret\n"},
			wantErr: `config.overlays: kind.yml:6: writes Secret "v" in plain text`,
		},
		{
			name:    "changed encryptedData is refused with its file and line",
			files:   map[string]string{"labels.yml": labels, "reseal.yml": overlayHead + "\n#@overlay/match by=overlay.subset({\"kind\": \"SealedSecret\"})\n---\nspec:\n  encryptedData:\n    password: AgAAAA==\n"},
			wantErr: `config.overlays: reseal.yml:8: changes spec.encryptedData of SealedSecret team-a/v (key "password")`,
		},
		{
			name:    "an encryptedData key removed is traced to its overlay document",
			files:   map[string]string{"drop.yml": overlayHead + "#@overlay/match by=overlay.subset({\"kind\": \"ConfigMap\"})\n---\nmetadata:\n  #@overlay/match missing_ok=True\n  labels: {}\n#@overlay/match by=overlay.subset({\"kind\": \"SealedSecret\"})\n---\nspec:\n  encryptedData:\n    #@overlay/remove\n    password:\n"},
			wantErr: `config.overlays: drop.yml:8: changes spec.encryptedData of SealedSecret team-a/v (key "password")`,
		},
		{
			name:    "a wider sealing scope is refused",
			files:   map[string]string{"scope.yml": overlayHead + "#@overlay/match by=overlay.subset({\"kind\": \"SealedSecret\"})\n---\nmetadata:\n  #@overlay/match missing_ok=True\n  annotations:\n    sealedsecrets.bitnami.com/cluster-wide: \"true\"\n"},
			wantErr: `config.overlays: scope.yml:`,
		},
		{
			name:    "an unquoted number as an annotation is refused by its line",
			files:   map[string]string{"wave.yml": overlayHead + "#@overlay/match by=overlay.subset({\"kind\": \"ConfigMap\"})\n---\nmetadata:\n  #@overlay/match missing_ok=True\n  annotations:\n    #@overlay/match missing_ok=True\n    argocd.argoproj.io/sync-wave: -1\n"},
			wantErr: `config.overlays: wave.yml:9: sets metadata.annotations[argocd.argoproj.io/sync-wave] of ConfigMap team-a/v to -1, which is not a string: quote it`,
		},
		{
			name:    "a removed document is refused: Kratix would delete it",
			files:   map[string]string{"labels.yml": labels, "rm.yml": overlayHead + "\n#@overlay/match by=overlay.subset({\"kind\": \"ConfigMap\"})\n#@overlay/remove\n---\n"},
			wantErr: `config.overlays: rm.yml:4: removes or renames ConfigMap team-a/v, which Kratix would then delete`,
		},
		{
			name: "of two removals, the one reported is blamed on its own file",
			files: map[string]string{
				"10-a.yml": overlayHead + "#@overlay/match by=overlay.subset({\"kind\": \"SealedSecret\"})\n#@overlay/remove\n---\n",
				"20-b.yml": overlayHead + "#@overlay/match by=overlay.subset({\"kind\": \"ConfigMap\"})\n#@overlay/remove\n---\n",
			},
			wantErr: `config.overlays: 20-b.yml:3: removes or renames ConfigMap team-a/v`,
		},
		{
			name:    "a renamed SealedSecret is refused",
			files:   map[string]string{"rename.yml": overlayHead + "#@overlay/match by=overlay.subset({\"kind\": \"SealedSecret\"})\n---\nmetadata:\n  name: w\n"},
			wantErr: `config.overlays: rename.yml:3: removes or renames SealedSecret team-a/v`,
		},
		{
			name:    "a duplicate is refused",
			files:   map[string]string{"dup.yml": "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: v, namespace: team-a}\n"},
			wantErr: `config.overlays: dup.yml:1: writes ConfigMap team-a/v twice`,
		},
		{
			name:    "a document that is not an object is refused",
			files:   map[string]string{"list.yml": "---\n- a\n- b\n"},
			wantErr: `config.overlays: list.yml:1: writes a document that is not a Kubernetes object with apiVersion, kind and metadata.name`,
		},
		{
			name:    "a document without a name is refused",
			files:   map[string]string{"anon.yml": "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: team-a}\n"},
			wantErr: `config.overlays: anon.yml:1: writes a document that is not a Kubernetes object`,
		},
		{
			name:    "a SealedSecret's apiVersion changed is refused",
			files:   map[string]string{"version.yml": overlayHead + "#@overlay/match by=overlay.subset({\"kind\": \"SealedSecret\"})\n---\napiVersion: bitnami.com/v1alpha2\n"},
			wantErr: `config.overlays: version.yml:5: changes the apiVersion of SealedSecret team-a/v`,
		},
		{
			name:    "a sealing scope set on the template is refused by its line",
			files:   map[string]string{"tscope.yml": overlayHead + "#@overlay/match by=overlay.subset({\"kind\": \"SealedSecret\"})\n---\nspec:\n  template:\n    metadata:\n      #@overlay/match missing_ok=True\n      annotations:\n        sealedsecrets.bitnami.com/namespace-wide: \"true\"\n"},
			wantErr: `config.overlays: tscope.yml:10: changes the sealing scope of SealedSecret team-a/v (annotation sealedsecrets.bitnami.com/namespace-wide)`,
		},
		{
			name:    "not valid ytt is refused with its file and line",
			files:   map[string]string{"bad.yml": overlayHead + "#@overlay/match by=overlay.subset({\"kind\": \"Gateway\"})\n---\nmetadata: {}\n"},
			wantErr: `config.overlays: applying overlays: Overlaying (in following order: bad.yml): Document on line bad.yml:4:`,
		},
		{
			name:        "with workflow control the refusal suspends the request",
			files:       map[string]string{"secret.yml": "---\napiVersion: v1\nkind: Secret\nmetadata: {name: token}\n"},
			extra:       "kratix: {workflowControl: true}\n",
			wantErr:     `config.overlays: secret.yml:3: writes Secret "token" in plain text`,
			wantSuspend: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := request(t, kratix.ActionConfigure, vault, writeOverlays(t, tc.files, tc.extra))
			req.Env.PromiseName = "vaults"
			res, err := sealStage().Workflows().ResourceConfigure(context.Background(), req)
			if tc.wantSuspend {
				if err != nil {
					t.Fatalf("error %v; want a suspended result", err)
				}
				if res.Control == nil || !res.Control.Suspend || !strings.HasPrefix(res.Control.Message, tc.wantErr) {
					t.Fatalf("control %#v; want a suspension with %q", res.Control, tc.wantErr)
				}
				return
			}
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("documents:\n%s\nwant error %q", docsJSON(t, res), tc.wantErr)
				}
				if got := kratix.OneLine(err); !strings.HasPrefix(got, tc.wantErr) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("error:\n%s\nwant one line starting %q", got, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := docsJSON(t, res); got != tc.want {
				t.Errorf("documents:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// TestOverlaysConfig: the overlays setting is read in the configuration
// step; an absent default directory means none, an absent named one is
// a configuration error naming the field.
func TestOverlaysConfig(t *testing.T) {
	req := request(t, kratix.ActionConfigure, vault, "overlays: "+filepath.Join(t.TempDir(), "absent")+"\n")
	_, err := sealStage().Workflows().ResourceConfigure(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), "config.overlays: open ") {
		t.Errorf("an absent overlay directory: %v; want a config.overlays error", err)
	}
	if _, err := os.Stat(DefaultOverlaysDir); err == nil {
		t.Skipf("%s exists on this machine", DefaultOverlaysDir)
	}
	req = request(t, kratix.ActionConfigure, vault, "")
	res, err := sealStage().Workflows().ResourceConfigure(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	// Without overlays the stage's own values are written, untouched.
	if _, ok := res.Documents[1].Object.(sealedSecret); !ok {
		t.Errorf("document 1 is %T; without overlays it stays the stage's value", res.Documents[1].Object)
	}
}

// TestOverlaysNotOnDelete: a delete run writes no documents; its overlays
// are neither read nor run, so a broken overlay set, or a missing overlay
// directory, cannot stop a delete.
func TestOverlaysNotOnDelete(t *testing.T) {
	req := request(t, kratix.ActionDelete, vault, writeOverlays(t, map[string]string{"bad.yml": "#@ nope(\n"}, ""))
	if _, err := sealStage().Workflows().ResourceDelete(context.Background(), req); err != nil {
		t.Errorf("delete with a broken overlay set: %v", err)
	}
	missing := "overlays: " + filepath.Join(t.TempDir(), "absent") + "\n"
	req = request(t, kratix.ActionDelete, vault, missing)
	if _, err := sealStage().Workflows().ResourceDelete(context.Background(), req); err != nil {
		t.Errorf("delete with a missing overlay directory: %v", err)
	}
	req = request(t, kratix.ActionConfigure, vault, missing)
	if _, err := sealStage().Workflows().ResourceConfigure(context.Background(), req); err == nil || !strings.Contains(err.Error(), "config.overlays") {
		t.Errorf("configure with a missing overlay directory: %v; want config.overlays named", err)
	}
	req = request(t, kratix.ActionConfigure, vault, writeOverlays(t, map[string]string{"bad.yml": "#@ nope(\n"}, ""))
	if _, err := sealStage().Workflows().ResourceConfigure(context.Background(), req); err == nil || !strings.Contains(err.Error(), "bad.yml") {
		t.Errorf("configure with a broken overlay set: %v; want the file named", err)
	}
}

// TestOverlaysWithoutRunner: a stage built without a way to run overlays
// fails a run on a platform that has some, rather than writing the
// documents unchanged.
func TestOverlaysWithoutRunner(t *testing.T) {
	s := sealStage()
	s.Overlays = nil
	req := request(t, kratix.ActionConfigure, vault, writeOverlays(t, map[string]string{"a.yml": "#@ load(\"@ytt:overlay\", \"overlay\")\n"}, ""))
	if _, err := s.Workflows().ResourceConfigure(context.Background(), req); err == nil || !strings.Contains(err.Error(), "no way to run them") {
		t.Errorf("overlays without a runner: %v; want a refusal to run", err)
	}
}
