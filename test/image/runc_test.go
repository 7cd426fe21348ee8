package image

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/promisekit/promisekit/internal/devkeys"
	"github.com/promisekit/promisekit/internal/golist"
	"github.com/promisekit/promisekit/internal/localrun"
	"github.com/promisekit/promisekit/internal/ociimage"
)

// requireRunc is runc's path. In CI (CI=true) a missing runc, or a test
// not run as root, fails the test: these tests are the only ones that run
// the images. Elsewhere they are skipped, saying why.
func requireRunc(t *testing.T) string {
	t.Helper()
	runc, err := exec.LookPath("runc")
	if err == nil && os.Geteuid() != 0 {
		err = fmt.Errorf("running as uid %d: runc needs root here (the bundles are not rootless)", os.Geteuid())
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI must run the images with runc (apt-get install runc; .ci/run does): %v", err)
		}
		t.Skipf("not running the images: %v (install runc, Debian package runc, and run as root)", err)
	}
	return runc
}

// step is one local-runner run of a scenario.
type step struct {
	promise string // Promise file, relative to the repository
	request string // request file, relative to the repository or absolute
	now     string
	action  string // "" is configure
	// refused: the stage refuses the request and exits non-zero; the
	// image must exit as the binary does and write nothing.
	refused bool
}

// scenario is a promise's demo (hack/demo-<p>.sh) as steps: the same
// configuration, keys and destinations.
type scenario struct {
	name  string
	dests []localrun.Destination
	// setup writes what the runs need into dir: the environment the
	// direct runs get (configuration by host path, as the demo passes
	// it), and the ConfigMaps and Secrets the runc runs mount, by name,
	// each a directory of its keys with paths inside the container.
	setup func(t *testing.T, dir string) (direct map[string]string, volumes map[string]string)
	steps func(dir string) []step
	// mask replaces what a run draws at random or from the wall clock, so
	// that two runs compare.
	mask []*regexp.Regexp
}

func scenarios() []scenario {
	return []scenario{
		{
			name: "natsuser",
			setup: func(t *testing.T, dir string) (map[string]string, map[string]string) {
				keys, err := devkeys.Generate(filepath.Join(dir, "keys"), devkeys.Options{Bits: 2048})
				if err != nil {
					t.Fatal(err)
				}
				cfg, err := os.ReadFile(keys.ConfigFile)
				if err != nil {
					t.Fatal(err)
				}
				// The ConfigMap names the files where the Promise mounts them.
				const signingKey = "nats-account-signing-key.nk"
				inPod := strings.ReplaceAll(string(cfg), keys.CertificateFile, "/etc/promisekit/sealing/cert.pem")
				inPod = strings.ReplaceAll(inPod, keys.SigningKeyFile, "/etc/promisekit/secrets/"+signingKey)
				if inPod == string(cfg) {
					t.Fatal("devkeys' configuration names neither key file")
				}
				vols := map[string]string{
					"natsuser-config":            projected(t, dir, "natsuser-config", map[string][]byte{"config.yaml": []byte(inPod)}),
					"natsuser-secrets":           projected(t, dir, "natsuser-secrets", map[string][]byte{signingKey: read(t, keys.SigningKeyFile)}),
					"sealed-secrets-certificate": projected(t, dir, "sealed-secrets-certificate", map[string][]byte{"cert.pem": read(t, keys.CertificateFile)}),
				}
				return keys.Env(), vols
			},
			steps: func(string) []step {
				const p, now, later = "promises/natsuser/promise.yaml", "2026-11-01T09:00:00Z", "2026-11-01T09:05:00Z"
				return []step{
					{promise: p, request: "promises/natsuser/examples/orders-api.yaml", now: now},
					{promise: p, request: "promises/natsuser/examples/metrics-reader.yaml", now: now},
					{promise: p, request: "promises/natsuser/examples/orders-api.yaml", now: later},
					{promise: p, request: "promises/natsuser/examples/metrics-reader.yaml", now: later},
					{promise: p, request: "promises/natsuser/examples/metrics-reader.yaml", now: later, action: "delete"},
				}
			},
			mask: []*regexp.Regexp{
				// Fresh ciphertext every sealing, a new user key per user,
				// the proof signed over it, and the JWT's issue time (the
				// NATS library stamps it from the wall clock).
				regexp.MustCompile(`(: )[A-Za-z0-9+/]{200,}={0,2}`),
				regexp.MustCompile(`(userPublicKey: )U[A-Z2-7]+`),
				regexp.MustCompile(`(userKeyProof: )\S+`),
				regexp.MustCompile(`(credentialsIssuedAt: )"[^"]+"`),
			},
		},
		{
			name: "environment",
			setup: func(t *testing.T, dir string) (map[string]string, map[string]string) {
				root := golist.Root(t)
				ack := filepath.Join(root, "promises/environment/examples/platform/ack.yaml")
				return map[string]string{"PROMISEKIT_CONFIG": ack},
					map[string]string{"environment-config": projected(t, dir, "environment-config", map[string][]byte{"config.yaml": read(t, ack)})}
			},
			steps: func(dir string) []step {
				const p = "promises/environment/promise.yaml"
				bad := filepath.Join(dir, "no-such-type.yaml")
				return []step{
					{promise: p, request: "promises/environment/examples/preview.yaml", now: "2026-11-01T09:00:00Z"},
					{promise: p, request: "promises/environment/examples/development.yaml", now: "2026-11-01T09:00:00Z"},
					{promise: p, request: "promises/environment/examples/development.yaml", now: "2026-11-02T09:00:00Z"},
					// Expired: the stage deletes its own request, then the
					// delete workflow runs.
					{promise: p, request: "promises/environment/examples/preview.yaml", now: "2026-11-03T10:00:00Z"},
					{promise: p, request: bad, now: "2026-11-03T10:00:00Z", refused: true},
				}
			},
		},
		{
			name: "apiaggregator",
			dests: []localrun.Destination{
				{Name: "edge", Labels: map[string]string{"gateway": "public"}},
				{Name: "worker-1", Labels: map[string]string{"environment": "dev"}},
			},
			setup: func(t *testing.T, dir string) (map[string]string, map[string]string) {
				cfg := []byte("kratix:\n  workflowControl: true\ngatewayClassName: eg\ngatewayNamespace: gateways\n" +
					"implementation: envoy-gateway\ncertManager:\n  kind: ClusterIssuer\n  name: letsencrypt\ndestinationSelector:\n  gateway: public\n")
				file := filepath.Join(dir, "config.yaml")
				if err := os.WriteFile(file, cfg, 0o644); err != nil {
					t.Fatal(err)
				}
				return map[string]string{"PROMISEKIT_CONFIG": file},
					map[string]string{"apiaggregator-config": projected(t, dir, "apiaggregator-config", map[string][]byte{"config.yaml": cfg})}
			},
			steps: func(dir string) []step {
				const agg, tgt = "promises/apiaggregator/apiaggregator-promise.yaml", "promises/apiaggregator/apiaggregatortarget-promise.yaml"
				const ex, now = "promises/apiaggregator/examples/", "2026-11-02T09:00:00Z"
				return []step{
					// Before its aggregator: the target waits (workflow control).
					{promise: tgt, request: ex + "orders.yaml", now: now},
					{promise: agg, request: ex + "portal.yaml", now: now},
					{promise: tgt, request: ex + "orders.yaml", now: now},
					{promise: tgt, request: ex + "legacy-orders.yaml", now: now},
					{promise: tgt, request: ex + "invoices.yaml", now: now},
					// A later target claiming /orders is refused in its status.
					{promise: tgt, request: filepath.Join(dir, "rogue.yaml"), now: "2026-11-02T09:01:00Z"},
					{promise: tgt, request: filepath.Join(dir, "rogue.yaml"), now: "2026-11-02T09:01:00Z", action: "delete"},
					{promise: tgt, request: ex + "invoices.yaml", now: "2026-11-02T09:02:00Z", action: "delete"},
				}
			},
		},
	}
}

// extraRequests are the requests the scenarios write beside the examples:
// the refused environment and the rogue target.
func writeExtraRequests(t *testing.T, dir string) {
	t.Helper()
	root := golist.Root(t)
	dev := read(t, filepath.Join(root, "promises/environment/examples/development.yaml"))
	bad := strings.Replace(string(dev), "type: development", "type: no-such-type", 1)
	if bad == string(dev) {
		t.Fatal("development.yaml has no 'type: development' line to change")
	}
	bad = strings.Replace(bad, "name: team-a-dev", "name: team-a-bad", 1)
	rogue := "apiVersion: apiaggregator.promisekit.io/v1alpha1\nkind: ApiAggregatorTarget\nmetadata:\n  name: rogue\n  namespace: team-billing\n" +
		"spec:\n  aggregatorRef: {name: portal, namespace: platform}\n  service: {name: rogue, port: 80}\n  paths:\n  - prefix: /orders\n"
	for name, data := range map[string]string{"no-such-type.yaml": bad, "rogue.yaml": rogue} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestImagesRunAsKratixRunsThem runs every example request of every
// promise twice with the local runner: once with the binaries taken out of
// the image, run directly, and once with the image itself run by runc as
// the Promise file's container. After every step the two state stores
// (output and the objects' status) must be equal, and so must the runs'
// outcomes and errors.
func TestImagesRunAsKratixRunsThem(t *testing.T) {
	runc := requireRunc(t)
	root := golist.Root(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	directBin, shimBin := filepath.Join(work, "bin-direct"), filepath.Join(work, "bin-runc")
	for _, d := range []string{directBin, shimBin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	images := map[string]shimImage{}
	for _, p := range pipelines(t) {
		img, err := ociimageHost(t, p)
		if err != nil {
			t.Fatal(err)
		}
		if err := extractCommands(img, p, directBin); err != nil {
			t.Fatal(err)
		}
		rootfs := filepath.Join(work, "rootfs", p)
		if err := unpack(img, rootfs); err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		images[p] = shimImage{Rootfs: rootfs, User: cf.Config.User, Entrypoint: cf.Config.Entrypoint, Env: cf.Config.Env, WorkingDir: cf.Config.WorkingDir}
		if err := os.Symlink(self, filepath.Join(shimBin, p)); err != nil {
			t.Fatal(err)
		}
	}
	runs := filepath.Join(work, "runs.jsonl")

	// Every example request of every promise goes through its image.
	examples, err := filepath.Glob(filepath.Join(root, "promises", "*", "examples", "*.yaml"))
	if err != nil || len(examples) == 0 {
		t.Fatalf("no example requests: %v", err)
	}
	for _, ex := range examples {
		rel, _ := filepath.Rel(root, ex)
		if !slices.ContainsFunc(scenarios(), func(sc scenario) bool {
			return slices.ContainsFunc(sc.steps(work), func(st step) bool { return st.request == filepath.ToSlash(rel) })
		}) {
			t.Errorf("%s is in no scenario: add it to its promise's steps", rel)
		}
	}

	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeExtraRequests(t, dir)
			directEnv, volumes := sc.setup(t, dir)
			stores := map[string]string{"direct": filepath.Join(dir, "direct"), "runc": filepath.Join(dir, "runc")}
			for i, st := range sc.steps(dir) {
				request := st.request
				if !filepath.IsAbs(request) {
					request = filepath.Join(root, request)
				}
				now, err := time.Parse(time.RFC3339, st.now)
				if err != nil {
					t.Fatal(err)
				}
				base := localrun.Options{
					PromiseFile: filepath.Join(root, st.promise), RequestFile: request, Action: st.action,
					Now: now, Destinations: sc.dests,
				}
				direct := base
				direct.StateStore, direct.BinDir, direct.Env = stores["direct"], directBin, directEnv
				viaRunc := base
				viaRunc.StateStore, viaRunc.BinDir = stores["runc"], shimBin
				cfgFile := filepath.Join(work, "shim.json")
				writeJSON(t, cfgFile, shimConfig{Runc: runc, Promise: base.PromiseFile, Images: images, Volumes: volumes, Work: work, Runs: runs})
				viaRunc.Env = map[string]string{shimVariable: cfgFile}

				before := countRuns(t, runs)
				outDirect, errDirect := localrun.Run(context.Background(), direct)
				outRunc, errRunc := localrun.Run(context.Background(), viaRunc)
				name := fmt.Sprintf("step %d (%s %s at %s)", i+1, orConfigure(st.action), filepath.Base(st.request), st.now)

				if (errDirect != nil) != st.refused || (errRunc != nil) != st.refused {
					t.Fatalf("%s: refused=%v, but direct: %v; runc: %v", name, st.refused, errDirect, errRunc)
				}
				if errDirect != nil && errDirect.Error() != errRunc.Error() {
					t.Errorf("%s: the image failed otherwise than the binary:\n direct: %v\n runc:   %v", name, errDirect, errRunc)
				}
				recs := readRuns(t, runs)[before:]
				if len(recs) == 0 {
					t.Fatalf("%s: runc ran no container", name)
				}
				if st.refused {
					last := recs[len(recs)-1]
					if last.Exit == 0 || last.Written != 0 {
						t.Errorf("%s: the refused request's container exited %d and left %d files in /kratix", name, last.Exit, last.Written)
					}
					if !strings.Contains(errRunc.Error(), fmt.Sprintf("exit status %d", last.Exit)) {
						t.Errorf("%s: runc's exit %d is not the runner's error: %v", name, last.Exit, errRunc)
					}
				}
				if outDirect != nil && outRunc != nil {
					if !slices.Equal(outDirect.Written, outRunc.Written) || outDirect.Deleted != outRunc.Deleted ||
						fmt.Sprint(outDirect.Control) != fmt.Sprint(outRunc.Control) {
						t.Errorf("%s: outcomes differ:\n direct: %+v\n runc:   %+v", name, outDirect, outRunc)
					}
				}
				a, b := snapshot(t, stores["direct"], sc.mask), snapshot(t, stores["runc"], sc.mask)
				for _, f := range union(a, b) {
					if a[f] != b[f] {
						t.Errorf("%s: %s differs:\n--- direct\n%s\n--- runc\n%s", name, f, a[f], b[f])
					}
				}
				if t.Failed() {
					t.FailNow()
				}
			}
		})
	}
	reportTimes(t, readRuns(t, runs))
}

func orConfigure(action string) string {
	if action == "" {
		return "configure"
	}
	return action
}

// reportTimes logs how long runc took per image, pipeline and action
// (container start to exit, runc's own setup included).
func reportTimes(t *testing.T, recs []shimRun) {
	type key struct{ image, pipeline, action string }
	byKey := map[key][]float64{}
	for _, r := range recs {
		k := key{r.Image, r.Pipeline, r.Action}
		byKey[k] = append(byKey[k], r.Seconds)
	}
	var lines []string
	for k, secs := range byKey {
		slices.Sort(secs)
		sum := 0.0
		for _, s := range secs {
			sum += s
		}
		lines = append(lines, fmt.Sprintf("%-14s %-10s %-10s runs %2d  median %4.0f ms  max %4.0f ms  mean %4.0f ms",
			k.image, k.pipeline, k.action, len(secs), secs[len(secs)/2]*1000, secs[len(secs)-1]*1000, sum/float64(len(secs))*1000))
	}
	sort.Strings(lines)
	t.Logf("runc run times per stage:\n  %s", strings.Join(lines, "\n  "))
}

// snapshot is every file of a state store (output and the runner's copy
// of each object, status included), masked.
func snapshot(t *testing.T, store string, mask []*regexp.Regexp) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(store, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(store, p)
		s := string(data)
		for _, re := range mask {
			s = re.ReplaceAllString(s, "${1}<masked>")
		}
		files[rel] = s
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func union(a, b map[string]string) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// unpack writes an image's filesystem into dir as root, with the modes
// the image gives.
func unpack(img v1.Image, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return ociimage.Walk(img, func(e ociimage.Entry, data []byte) error {
		p := filepath.Join(dir, filepath.FromSlash(e.Path))
		if e.Dir {
			if err := os.MkdirAll(p, os.FileMode(e.Mode)); err != nil {
				return err
			}
			return os.Chmod(p, os.FileMode(e.Mode))
		}
		if err := os.WriteFile(p, data, os.FileMode(e.Mode)); err != nil {
			return err
		}
		return os.Chmod(p, os.FileMode(e.Mode))
	})
}

// projected writes a ConfigMap's or Secret's keys as the kubelet projects
// them: one file per key, mode 0644 (defaultMode), readable by the
// container's user.
func projected(t *testing.T, dir, name string, keys map[string][]byte) string {
	t.Helper()
	d := filepath.Join(dir, "volumes", name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	for k, v := range keys {
		if err := os.WriteFile(filepath.Join(d, k), v, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func read(t *testing.T, file string) []byte {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func writeJSON(t *testing.T, file string, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readRuns(t *testing.T, file string) []shimRun {
	t.Helper()
	data, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var recs []shimRun
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var r shimRun
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	return recs
}

func countRuns(t *testing.T, file string) int { return len(readRuns(t, file)) }
