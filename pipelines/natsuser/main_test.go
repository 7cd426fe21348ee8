package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/promisekit/promisekit/internal/devkeys"
	"github.com/promisekit/promisekit/internal/leakcheck"
)

// TestBinary runs the built binary as Kratix would: a valid request is
// served silently, an invalid one exits 1 with one line on stderr naming
// the field and writes nothing, and nothing secret reaches any stream or
// file.
func TestBinary(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "natsuser")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	keys, err := devkeys.Generate(filepath.Join(dir, "keys"), devkeys.Options{Bits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		action     string
		spec       string
		wantStderr string
		wantFiles  int
	}{
		{name: "configure", action: "configure", spec: `{publish: {allow: ["orders.>"]}}`, wantFiles: 1},
		{name: "invalid subject", action: "configure", spec: `{publish: {allow: ["orders created"]}}`,
			wantStderr: `natsuser: spec.publish.allow[0]: "orders created" is not a NATS subject: dot-separated tokens of printable ASCII without spaces, '*' as a whole token, '>' only as the last` + "\n"},
		{name: "delete", action: "delete", spec: `{}`},
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
				"PROMISEKIT_CONFIG=" + keys.ConfigFile,
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
