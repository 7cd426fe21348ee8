package main

import (
	"bytes"
	"cmp"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/promisekit/promisekit/internal/devkeys"
	"github.com/promisekit/promisekit/internal/leakcheck"
	"github.com/promisekit/promisekit/internal/overlaytest"
)

// TestBinary runs the built binaries as Kratix would, the stage and its
// overlay sibling side by side as in the image: a valid request is served
// silently, an invalid one exits 1 with one line on stderr naming the
// field and writes nothing, a platform's overlays run in the sibling and
// a refusal of theirs names the overlay file, and nothing secret reaches
// any stream or file.
func TestBinary(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "natsuser")
	if out, err := exec.Command("go", "build", "-o", dir+string(os.PathSeparator), "./...").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	keys, err := devkeys.Generate(filepath.Join(dir, "keys"), devkeys.Options{Bits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	base, err := os.ReadFile(keys.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	withOverlays := func(name, body string) string {
		overlayDir := filepath.Join(dir, "overlays-"+name)
		if err := os.MkdirAll(overlayDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(overlayDir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, name+".config.yaml")
		if err := os.WriteFile(file, []byte(overlaytest.Config(string(base), overlayDir)), 0o644); err != nil {
			t.Fatal(err)
		}
		return file
	}
	labelled := withOverlays("labels.yml", "#@ load(\"@ytt:overlay\", \"overlay\")\n#@overlay/match by=overlay.all, expects=\"1+\"\n---\nmetadata:\n  #@overlay/match missing_ok=True\n  labels:\n    #@overlay/match missing_ok=True\n    platform.example.com/team: orders\n")
	plain := withOverlays("secret.yml", "---\napiVersion: v1\nkind: Secret\nmetadata: {name: copy, namespace: team-orders}\n")
	tests := []struct {
		name       string
		action     string
		spec       string
		config     string
		wantStderr string
		wantFiles  int
		wantOutput string // in the output file
	}{
		{name: "configure", action: "configure", spec: `{publish: {allow: ["orders.>"]}}`, wantFiles: 1},
		{name: "invalid subject", action: "configure", spec: `{publish: {allow: ["orders created"]}}`,
			wantStderr: `natsuser: spec.publish.allow[0]: "orders created" is not a NATS subject: dot-separated tokens of printable ASCII without spaces, '*' as a whole token, '>' only as the last` + "\n"},
		{name: "delete", action: "delete", spec: `{}`},
		{name: "overlays", action: "configure", spec: `{publish: {allow: ["orders.>"]}}`, config: labelled, wantFiles: 1,
			wantOutput: "platform.example.com/team: orders"},
		{name: "overlay refused", action: "configure", spec: `{publish: {allow: ["orders.>"]}}`, config: plain,
			wantStderr: `natsuser: config.overlays: secret.yml:3: writes Secret "copy" in plain text to the state store: seal it (SealedSecret) instead` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := t.TempDir()
			input := filepath.Join(pod, "input", "object.yaml")
			if err := os.MkdirAll(filepath.Dir(input), 0o755); err != nil {
				t.Fatal(err)
			}
			request := "apiVersion: nats.promisekit.dev/v1alpha1\nkind: NATSUser\nmetadata: {name: orders-api, namespace: team-orders}\nspec: " + tt.spec + "\n"
			if err := os.WriteFile(input, []byte(request), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin)
			cmd.Env = []string{
				"KRATIX_WORKFLOW_ACTION=" + tt.action, "KRATIX_WORKFLOW_TYPE=resource",
				"KRATIX_PROMISE_NAME=natsuser", "KRATIX_PIPELINE_NAME=natsuser",
				"KRATIX_OBJECT_KIND=NATSUser", "KRATIX_OBJECT_GROUP=nats.promisekit.dev", "KRATIX_OBJECT_VERSION=v1alpha1",
				"KRATIX_OBJECT_NAME=orders-api", "KRATIX_OBJECT_NAMESPACE=team-orders", "KRATIX_CRD_PLURAL=natsusers",
				"KRATIX_INPUT_FILE=" + input,
				"KRATIX_OUTPUT_DIR=" + filepath.Join(pod, "output"),
				"KRATIX_METADATA_DIR=" + filepath.Join(pod, "metadata"),
				"PROMISEKIT_CONFIG=" + cmp.Or(tt.config, keys.ConfigFile),
			}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var scanner leakcheck.Scanner
			scanner.Check(t, "stdout", stdout.Bytes())
			scanner.Check(t, "stderr", stderr.Bytes())
			scanner.CheckTree(t, pod)
			if stdout.Len() != 0 || stderr.String() != tt.wantStderr {
				t.Errorf("stdout %q, stderr %q; want stderr %q", stdout.String(), stderr.String(), tt.wantStderr)
			}
			var exit *exec.ExitError
			switch {
			case tt.wantStderr == "" && err != nil:
				t.Fatalf("exit: %v", err)
			case tt.wantStderr != "" && (!errors.As(err, &exit) || exit.ExitCode() != 1):
				t.Fatalf("exit: %v, want status 1", err)
			}
			entries, _ := os.ReadDir(filepath.Join(pod, "output"))
			files := 0
			for _, e := range entries {
				if !e.IsDir() {
					files++
					data, err := os.ReadFile(filepath.Join(pod, "output", e.Name()))
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Contains(data, []byte(tt.wantOutput)) {
						t.Errorf("%s:\n%s\nwant it to hold %q", e.Name(), data, tt.wantOutput)
					}
				}
			}
			if files != tt.wantFiles {
				t.Errorf("%d output files, want %d", files, tt.wantFiles)
			}
			_, statErr := os.Stat(filepath.Join(pod, "metadata", "status.yaml"))
			if (tt.wantStderr == "") != (statErr == nil) {
				t.Errorf("status.yaml: %v", statErr)
			}
		})
	}
}
