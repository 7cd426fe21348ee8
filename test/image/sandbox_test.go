package image

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/promisekit/promisekit/internal/golist"
	corev1 "k8s.io/api/core/v1"
)

// probeReport is what testdata/probe prints.
type probeReport struct {
	UID, GID    int
	Groups      []int
	Status      map[string]string
	WriteRoot   string
	WriteOutput string
	Keyctl      string
	Files       []string
	Env         []string
}

// TestSandboxIsThePromises runs a probe in place of a stage, in the
// container runc gets from natsuser's Promise file (the one with the most
// volumes), and checks from the inside what the Promise declares: uid
// 65532, no capability at all, no_new_privs, a seccomp filter, a
// read-only root, Kratix's
// directories writable, the ConfigMap and Secret volumes where the
// Pipeline mounts them, and no environment but Kratix's.
func TestSandboxIsThePromises(t *testing.T) {
	runc := requireRunc(t)
	root := golist.Root(t)
	work := t.TempDir()
	rootfs := filepath.Join(work, "rootfs")
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(rootfs, "stage"), "./test/image/testdata/probe")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the probe: %v\n%s", err, out)
	}
	pod := filepath.Join(work, "pod")
	for _, d := range []string{"input", "output", "metadata"} {
		if err := os.MkdirAll(filepath.Join(pod, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(pod, "input", "object.yaml"), []byte("kind: NATSUser\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// What the runner gives a container: the shim must pass on only
	// Kratix's variables and the clock, not the runner's paths or this one.
	t.Setenv("KRATIX_INPUT_FILE", filepath.Join(pod, "input", "object.yaml"))
	t.Setenv("KRATIX_OUTPUT_DIR", filepath.Join(pod, "output"))
	t.Setenv("KRATIX_METADATA_DIR", filepath.Join(pod, "metadata"))
	t.Setenv("KRATIX_WORKFLOW_ACTION", "configure")
	t.Setenv("PROMISEKIT_NOW", "2026-11-01T09:00:00Z")
	t.Setenv("PROBE_SHOULD_NOT_SEE_THIS", "1")

	cfg := shimConfig{Runc: runc, Work: work, Volumes: map[string]string{
		"natsuser-config":            projected(t, work, "natsuser-config", map[string][]byte{"config.yaml": []byte("{}\n")}),
		"sealed-secrets-certificate": projected(t, work, "sealing", map[string][]byte{"cert.pem": []byte("not a certificate\n")}),
		// natsuser-secrets is missing: optional, so an empty volume.
	}}
	img := shimImage{Rootfs: rootfs, User: "65532:65532", Entrypoint: []string{"/stage"}, WorkingDir: "/"}
	ctr, vols, err := promiseContainer(filepath.Join(root, "promises/natsuser/promise.yaml"), "configure", "natsuser", "natsuser")
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(work, "bundle")
	if err := os.MkdirAll(bundle, 0o755); err != nil {
		t.Fatal(err)
	}
	spec, err := runtimeSpec(cfg, img, bundle, ctr, vols)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeSpec(runc, bundle, spec); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(runc, "--root", filepath.Join(work, "state"), "run", "--bundle", bundle, "probe")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("runc run: %v\n%s", err, stderr.String())
	}
	var r probeReport
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("probe output %q: %v", stdout.String(), err)
	}
	if r.UID != 65532 || r.GID != 65532 || len(r.Groups) > 1 || (len(r.Groups) == 1 && r.Groups[0] != 65532) {
		t.Errorf("uid %d gid %d groups %v, want 65532 only", r.UID, r.GID, r.Groups)
	}
	for _, c := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
		if r.Status[c] != "0000000000000000" {
			t.Errorf("%s = %q: capabilities.drop [ALL] leaves none", c, r.Status[c])
		}
	}
	if r.Status["NoNewPrivs"] != "1" {
		t.Errorf("NoNewPrivs = %q: allowPrivilegeEscalation false sets it", r.Status["NoNewPrivs"])
	}
	if r.Status["Seccomp"] != "2" || r.Keyctl != "operation not permitted" {
		t.Errorf("Seccomp = %q, keyctl: %q: seccompProfile RuntimeDefault filters syscalls", r.Status["Seccomp"], r.Keyctl)
	}
	if !strings.Contains(r.WriteRoot, "read-only file system") {
		t.Errorf("writing / gave %q, want a read-only file system", r.WriteRoot)
	}
	if r.WriteOutput != "" {
		t.Errorf("writing /kratix/output: %s", r.WriteOutput)
	}
	for _, want := range []string{"/etc/promisekit/config/config.yaml", "/etc/promisekit/sealing/cert.pem", "/kratix/input/object.yaml", "/kratix/output/probe.yaml"} {
		if !slices.Contains(r.Files, want) {
			t.Errorf("no %s in the container: %v", want, r.Files)
		}
	}
	for _, kv := range r.Env {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "PROMISEKIT_CONFIG" || k == "PROMISEKIT_NOW":
		case k == "HOME":
			// The runtime's, as containerd's and CRI-O's: from the
			// user's passwd entry, else "/".
		case strings.HasPrefix(k, "KRATIX_") && k != "KRATIX_INPUT_FILE" && k != "KRATIX_OUTPUT_DIR" && k != "KRATIX_METADATA_DIR":
		default:
			t.Errorf("the container sees %s: Kratix sets no such variable", kv)
		}
	}
	if !slices.Contains(r.Env, "PROMISEKIT_CONFIG=/etc/promisekit/config/config.yaml") {
		t.Errorf("the Promise's env is not the container's: %v", r.Env)
	}
}

// TestRuntimeSpecRefuses checks the derivation's refusals: what the
// kubelet would not start, and what this test cannot reproduce.
func TestRuntimeSpecRefuses(t *testing.T) {
	root := golist.Root(t)
	ctr, vols, err := promiseContainer(filepath.Join(root, "promises/natsuser/promise.yaml"), "configure", "natsuser", "natsuser")
	if err != nil {
		t.Fatal(err)
	}
	pod := t.TempDir()
	t.Setenv("KRATIX_INPUT_FILE", filepath.Join(pod, "object.yaml"))
	t.Setenv("KRATIX_OUTPUT_DIR", pod)
	t.Setenv("KRATIX_METADATA_DIR", pod)
	img := shimImage{Rootfs: "/nonexistent", User: "65532:65532", Entrypoint: []string{"/stage"}}
	if _, err := runtimeSpec(shimConfig{}, img, pod, ctr, vols); err != nil {
		t.Fatalf("the Promise's own container: %v", err)
	}
	for name, tc := range map[string]struct {
		mutate func(c *shimImage, ctr *corev1.Container)
		want   string
	}{
		"root user":        {func(i *shimImage, c *corev1.Container) { zero := int64(0); c.SecurityContext.RunAsUser = &zero }, "runAsNonRoot"},
		"capabilities":     {func(i *shimImage, c *corev1.Container) { c.SecurityContext.Capabilities.Drop = nil }, "drop ALL"},
		"bad image user":   {func(i *shimImage, c *corev1.Container) { i.User = "nonroot" }, "not uid:gid"},
		"volume not there": {func(i *shimImage, c *corev1.Container) { c.VolumeMounts[0].Name = "nope" }, "no such volume"},
	} {
		t.Run(name, func(t *testing.T) {
			c := *ctr.DeepCopy()
			i := img
			tc.mutate(&i, &c)
			if _, err := runtimeSpec(shimConfig{}, i, pod, c, vols); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
	// A Secret volume that is not optional and not there: no Pod.
	strict := slices.Clone(vols)
	for i := range strict {
		if strict[i].Secret != nil {
			s := *strict[i].Secret
			no := false
			s.Optional = &no
			strict[i].Secret = &s
		}
	}
	if _, err := runtimeSpec(shimConfig{}, img, pod, ctr, strict); err == nil || !strings.Contains(err.Error(), "not optional") {
		t.Errorf("a missing required Secret: %v", err)
	}
}
