package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBinaryRefusesBadRequest runs the built binary as Kratix would on an
// invalid request: it exits 1 with one line on stderr naming the field, and
// writes nothing.
func TestBinaryRefusesBadRequest(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "environment")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	input := filepath.Join(dir, "input", "object.yaml")
	if err := os.MkdirAll(filepath.Dir(input), 0o755); err != nil {
		t.Fatal(err)
	}
	request := `apiVersion: platform.promisekit.dev/v1alpha1
kind: Environment
metadata: {name: dev, namespace: default, uid: u-1, creationTimestamp: "2026-11-01T09:00:00Z"}
spec: {type: preview, teamGroup: team-a, ttl: 2w}
`
	if err := os.WriteFile(input, []byte(request), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = kratixEnv(t, dir, "dev")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1", err)
	}
	want := "environment: spec.ttl: \"2w\": want a whole number of minutes, hours or days, such as 90m, 12h or 7d\n"
	if stderr.String() != want || stdout.Len() != 0 {
		t.Errorf("stderr %q, stdout %q; want stderr %q", stderr.String(), stdout.String(), want)
	}
	for _, d := range []string{"output", "metadata"} {
		if entries, err := os.ReadDir(filepath.Join(dir, d)); err == nil && len(entries) > 0 {
			t.Errorf("%s holds %d entries after a refused run", d, len(entries))
		}
	}
}

// kratixEnv is what Kratix gives the configure container for the request
// default/name, with its directories below dir and an empty configuration
// file (the defaults, whatever the machine has at the default path).
func kratixEnv(t *testing.T, dir, name string) []string {
	t.Helper()
	config := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(config, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{
		"KRATIX_WORKFLOW_ACTION=configure", "KRATIX_WORKFLOW_TYPE=resource",
		"KRATIX_PROMISE_NAME=environment", "KRATIX_PIPELINE_NAME=configure",
		"KRATIX_OBJECT_KIND=Environment", "KRATIX_OBJECT_GROUP=platform.promisekit.dev", "KRATIX_OBJECT_VERSION=v1alpha1",
		"KRATIX_OBJECT_NAME=" + name, "KRATIX_OBJECT_NAMESPACE=default", "KRATIX_CRD_PLURAL=environments",
		"KRATIX_INPUT_FILE=" + filepath.Join(dir, "input", "object.yaml"),
		"KRATIX_OUTPUT_DIR=" + filepath.Join(dir, "output"),
		"KRATIX_METADATA_DIR=" + filepath.Join(dir, "metadata"),
		"PROMISEKIT_CONFIG=" + config,
	}
}

// TestHandOverToEnvironmentAWS runs the built binaries: an expired request
// needs the platform API, so environment starts environment-aws, which
// deletes the request (here the local runner's copy); without
// environment-aws beside it, environment fails with one line and writes
// nothing.
func TestHandOverToEnvironmentAWS(t *testing.T) {
	bins := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", bins+"/", "./...").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	request := `apiVersion: platform.promisekit.dev/v1alpha1
kind: Environment
metadata: {name: old, namespace: default, uid: u-1, creationTimestamp: "2026-10-01T09:00:00Z"}
spec: {type: preview, teamGroup: team-a, ttl: 1d}
`
	run := func(t *testing.T, bin string) (dir, api string, stderr *bytes.Buffer, err error) {
		dir, api = t.TempDir(), t.TempDir()
		stored := filepath.Join(api, "platform.promisekit.dev", "environments", "default", "old.yaml")
		for file, data := range map[string]string{filepath.Join(dir, "input", "object.yaml"): request, stored: request} {
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command(bin)
		cmd.Env = append(kratixEnv(t, dir, "old"), "PROMISEKIT_LOCAL_API="+api, "PROMISEKIT_NOW=2026-11-23T00:00:00Z")
		stderr = &bytes.Buffer{}
		cmd.Stderr = stderr
		return dir, stored, stderr, cmd.Run()
	}

	t.Run("handed over", func(t *testing.T) {
		dir, stored, stderr, err := run(t, filepath.Join(bins, "environment"))
		if err != nil {
			t.Fatalf("%v: %s", err, stderr)
		}
		if _, err := os.Stat(stored); !os.IsNotExist(err) {
			t.Errorf("the expired request is still stored (%v)", err)
		}
		status, _ := os.ReadFile(filepath.Join(dir, "metadata", "status.yaml"))
		if !strings.Contains(string(status), "this request has been deleted") {
			t.Errorf("status.yaml:\n%s", status)
		}
	})
	t.Run("environment-aws missing", func(t *testing.T) {
		alone := filepath.Join(t.TempDir(), "environment")
		data, err := os.ReadFile(filepath.Join(bins, "environment"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(alone, data, 0o755); err != nil {
			t.Fatal(err)
		}
		dir, stored, stderr, err := run(t, alone)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Fatalf("exit: %v, want status 1", err)
		}
		if lines := strings.Count(stderr.String(), "\n"); lines != 1 || !strings.Contains(stderr.String(), "built without an HTTP client") {
			t.Errorf("stderr %q, want one line saying what is missing", stderr)
		}
		if _, err := os.Stat(stored); err != nil {
			t.Errorf("the request is gone: %v", err)
		}
		for _, d := range []string{"output", "metadata"} {
			if entries, _ := os.ReadDir(filepath.Join(dir, d)); len(entries) > 0 {
				t.Errorf("%s holds %d entries after a failed run", d, len(entries))
			}
		}
	})
}

// TestOverlaysInSibling runs the built binaries with a platform's overlay:
// environment and environment-aws (which environment hands over to, and
// which serves the same configure), neither of which links ytt, start
// promisekit-overlays beside them, and every document they write carries
// the overlay's label.
func TestOverlaysInSibling(t *testing.T) {
	bins := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", bins+"/", "./...").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, binary := range []string{"environment", "environment-aws"} {
		t.Run(binary, func(t *testing.T) {
			dir := t.TempDir()
			input := filepath.Join(dir, "input", "object.yaml")
			overlays := filepath.Join(dir, "overlays")
			for file, data := range map[string]string{
				input: `apiVersion: platform.promisekit.dev/v1alpha1
kind: Environment
metadata: {name: dev, namespace: default, uid: u-1, creationTimestamp: "2026-11-01T09:00:00Z"}
spec: {type: preview, teamGroup: team-a, ttl: 7d}
`,
				filepath.Join(overlays, "10-labels.yml"): `#@ load("@ytt:overlay", "overlay")
#@overlay/match by=overlay.all, expects="1+"
---
metadata:
  #@overlay/match missing_ok=True
  labels:
    #@overlay/match missing_ok=True
    platform.example.com/cost-centre: dev
`,
			} {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command(filepath.Join(bins, binary))
			cmd.Env = append(kratixEnv(t, dir, "dev"), "PROMISEKIT_NOW=2026-11-02T00:00:00Z") // a day into its seven
			if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("overlays: "+overlays+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("%v: %s", err, stderr.String())
			}
			files := 0
			err := filepath.WalkDir(filepath.Join(dir, "output"), func(path string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				files++
				data, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				if !strings.Contains(string(data), "platform.example.com/cost-centre: dev") {
					t.Errorf("%s has no label from the overlay:\n%s", path, data)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if files == 0 {
				t.Error("no output")
			}
		})
	}
}
