// Package stagetest runs a stage in-process the way Kratix runs its
// container, one run after another: each run gets fresh /kratix directories
// (a new Pod), the object marked Pending, and the KRATIX_* environment; after
// a successful run the stage's status.yaml is merged into the object with
// Kratix's semantics, so the next run sees what Kratix would hand it.
//
// Every run's output, metadata and error pass through a leak scan
// (package leakcheck): a test fails if anything a stage writes or says
// holds a secret, whether or not the test looks for one.
package stagetest

import (
	"bytes"
	"context"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/kratixsim"
	"github.com/promisekit/promisekit/internal/leakcheck"
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/stage"
)

// Harness holds one object across runs of one stage.
type Harness struct {
	T         testing.TB
	Stage     string
	Workflows kratix.Workflows
	// Workflow's Action is set by Configure and Delete.
	Workflow kratixsim.Workflow
	// Object is the object as the API server holds it; runs update its status.
	Object map[string]any
	// Env holds extra variables (platform configuration) for every run.
	Env map[string]string
	// Now is the clock of the next run.
	Now time.Time
	// Leaks scans every run; add the secret values a test generates
	// (tokens, passwords) to Leaks.Known so that they are found verbatim
	// too.
	Leaks leakcheck.Scanner
}

// New returns a harness for the object in objectYAML.
func New(t testing.TB, stage string, w kratix.Workflows, wf kratixsim.Workflow, objectYAML []byte) *Harness {
	t.Helper()
	var obj map[string]any
	if err := yaml.Unmarshal(objectYAML, &obj); err != nil {
		t.Fatalf("parsing object: %v", err)
	}
	return &Harness{
		T: t, Stage: stage, Workflows: w, Workflow: wf, Object: obj,
		Env:   map[string]string{},
		Now:   time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC),
		Leaks: leakcheck.Scanner{Known: map[string][]byte{}},
	}
}

// Outcome is what one run left behind.
type Outcome struct {
	Err error
	// Files are the output files by path below the output directory.
	Files map[string][]byte
	// StatusYAML is status.yaml as written (nil if none).
	StatusYAML []byte
	// Selectors is destination-selectors.yaml as written (nil if none).
	Selectors []byte
	// Dirs are the run's directories, for tests that look further.
	Dirs kratix.Paths
}

// Configure runs the configure workflow once.
func (h *Harness) Configure(ctx context.Context) *Outcome {
	return h.run(ctx, kratix.ActionConfigure)
}

// Delete runs the delete workflow once.
func (h *Harness) Delete(ctx context.Context) *Outcome {
	return h.run(ctx, kratix.ActionDelete)
}

// RunIn runs action with the given directories instead of fresh ones: a
// retry in the same Pod sees what the failed attempt left.
func (h *Harness) RunIn(ctx context.Context, action string, dirs kratix.Paths) *Outcome {
	h.T.Helper()
	obj, env := h.prepare(action, dirs)
	getenv := func(k string) string { return env[k] }

	out := &Outcome{Err: kratix.Run(ctx, h.Stage, h.Workflows, getenv)}
	h.collect(out, dirs)
	if out.Err != nil {
		h.Leaks.Check(h.T, "the error", []byte(out.Err.Error()))
	}
	if out.Err == nil {
		if err := kratixsim.ApplyStatus(obj, out.StatusYAML); err != nil {
			h.T.Fatalf("merging status: %v", err)
		}
		if action == kratix.ActionConfigure {
			kratixsim.MarkCompleted(obj, h.Now.UTC().Format(time.RFC3339))
		}
		h.Object = obj
	}
	return out
}

// prepare writes the object, marked Pending as Kratix marks it, to the
// input file in dirs and returns it with the run's environment.
func (h *Harness) prepare(action string, dirs kratix.Paths) (map[string]any, map[string]string) {
	h.T.Helper()
	wf := h.Workflow
	wf.Action = action
	obj := deepCopy(h.T, h.Object)
	kratixsim.SetPending(obj)
	data, err := yaml.Marshal(obj)
	if err != nil {
		h.T.Fatalf("encoding object: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(dirs.InputFile), 0o755); err != nil {
		h.T.Fatal(err)
	}
	if err := os.WriteFile(dirs.InputFile, data, 0o644); err != nil {
		h.T.Fatal(err)
	}
	env := kratixsim.Env(obj, wf)
	maps.Copy(env, h.Env)
	env["KRATIX_INPUT_FILE"] = dirs.InputFile
	env["KRATIX_OUTPUT_DIR"] = dirs.OutputDir
	env["KRATIX_METADATA_DIR"] = dirs.MetadataDir
	env[kratix.NowVariable] = h.Now.UTC().Format(time.RFC3339)
	return obj, env
}

// collect reads what a run left in dirs into out, and scans it for leaks.
func (h *Harness) collect(out *Outcome, dirs kratix.Paths) {
	h.T.Helper()
	out.Dirs = dirs
	out.Files = ReadTree(h.T, dirs.OutputDir)
	out.StatusYAML = readOptional(h.T, filepath.Join(dirs.MetadataDir, "status.yaml"))
	out.Selectors = readOptional(h.T, filepath.Join(dirs.MetadataDir, "destination-selectors.yaml"))
	for _, dir := range []string{dirs.OutputDir, dirs.MetadataDir} {
		// A run that fails early makes neither directory.
		if _, err := os.Stat(dir); err == nil {
			h.Leaks.CheckTree(h.T, dir)
		}
	}
}

// Command returns the command that runs a built stage binary on the
// object as RunIn runs the stage in-process: the same input file and
// environment in dirs, and nothing else in its environment. A test that
// kills the process stops the stage wherever it is; RunIn with the same
// dirs is then the container restarted in its Pod. Collect reads what the
// process left.
func (h *Harness) Command(ctx context.Context, action string, dirs kratix.Paths, binary string) *exec.Cmd {
	h.T.Helper()
	_, env := h.prepare(action, dirs)
	cmd := exec.CommandContext(ctx, binary)
	for _, k := range slices.Sorted(maps.Keys(env)) {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	return cmd
}

// Collect returns what a process started with Command left in dirs,
// scanned for leaks as every run is. Unlike RunIn, it merges no status
// into the held object.
func (h *Harness) Collect(dirs kratix.Paths) *Outcome {
	h.T.Helper()
	out := &Outcome{}
	h.collect(out, dirs)
	return out
}

// PodDirs returns fresh /kratix directories, as a new Pod has.
func (h *Harness) PodDirs() kratix.Paths {
	root := h.T.TempDir()
	return kratix.Paths{
		InputFile:   filepath.Join(root, "input", "object.yaml"),
		OutputDir:   filepath.Join(root, "output"),
		MetadataDir: filepath.Join(root, "metadata"),
	}
}

func (h *Harness) run(ctx context.Context, action string) *Outcome {
	h.T.Helper()
	return h.RunIn(ctx, action, h.PodDirs())
}

// Status returns the object's current status.
func (h *Harness) Status() map[string]any {
	s, _ := h.Object["status"].(map[string]any)
	return s
}

// ReadTree returns every regular file below dir by slash-separated path.
// A missing dir gives an empty map.
func ReadTree(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if os.IsNotExist(err) {
			return filepath.SkipDir
		}
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatalf("reading %s: %v", dir, err)
	}
	return files
}

func readOptional(t testing.TB, file string) []byte {
	data, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func deepCopy(t testing.TB, obj map[string]any) map[string]any {
	data, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := yaml.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// CompareGolden compares got (files by slash-separated path) with the tree
// under dir, reporting every file that differs, is missing or is extra. With
// update it rewrites the tree from got instead; packages pass their own
// -update flag.
func CompareGolden(t testing.TB, dir string, got map[string][]byte, update bool) {
	t.Helper()
	if update {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		for name, data := range got {
			file := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	want := ReadTree(t, dir)
	if len(want) == 0 {
		t.Fatalf("no golden files in %s; run the test with -update and review them", dir)
	}
	for _, name := range slices.Sorted(maps.Keys(got)) {
		if w, ok := want[name]; !ok {
			t.Errorf("%s: %s is not in the golden files (run with -update after review)", dir, name)
		} else if !bytes.Equal(w, got[name]) {
			t.Errorf("%s: %s differs from the golden file:\n--- got\n%s\n--- want\n%s", dir, name, got[name], w)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if _, ok := got[name]; !ok {
			t.Errorf("%s: golden file %s was not produced", dir, name)
		}
	}
}

// Decider is a stage.Stage of any type parameters but its Outside.
type Decider[Outside any] interface {
	Decide(req *kratix.Request) (stage.Plan[Outside], error)
}

// SamePlan takes the steps of the harness's next configure run up to its
// decision, twice from the same input, and fails unless both give the
// same plan: a stage's Decide is a pure function of its input. It returns
// the plan.
func SamePlan[Outside any](h *Harness, s Decider[Outside]) stage.Plan[Outside] {
	h.T.Helper()
	_, env := h.prepare(kratix.ActionConfigure, h.PodDirs())
	getenv := func(k string) string { return env[k] }
	kenv, err := kratix.ReadEnv(getenv)
	if err != nil {
		h.T.Fatal(err)
	}
	obj, err := kratix.ReadObject(env["KRATIX_INPUT_FILE"])
	if err != nil {
		h.T.Fatal(err)
	}
	req := &kratix.Request{Env: kenv, Object: obj, Now: h.Now, ConfigPath: env[kratix.ConfigVariable], Getenv: getenv}
	first, err := s.Decide(req)
	if err != nil {
		h.T.Fatalf("deciding: %v", err)
	}
	again, err := s.Decide(req)
	if err != nil {
		h.T.Fatalf("deciding again: %v", err)
	}
	if !reflect.DeepEqual(first, again) {
		h.T.Fatalf("the same input gave two plans:\n%#v\n%#v", first, again)
	}
	return first
}

// EmptyConfig returns an empty platform configuration file: the stage's
// defaults, whether or not the machine running the tests has a file at
// the default path.
func EmptyConfig(t testing.TB) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// StatusCopy returns a deep copy of the object's status key, for a test to
// change and put back (a forged status, say).
func (h *Harness) StatusCopy(key string) map[string]any {
	h.T.Helper()
	v, ok := h.Status()[key].(map[string]any)
	if !ok {
		h.T.Fatalf("status.%s is not an object", key)
	}
	return deepCopy(h.T, v)
}

// SetStatus sets the object's status key, as whoever can write the
// request's status would.
func (h *Harness) SetStatus(key string, value any) {
	status, _ := h.Object["status"].(map[string]any)
	if status == nil {
		status = map[string]any{}
		h.Object["status"] = status
	}
	status[key] = value
}

// CheckRefused fails unless the run failed with one line starting with
// field, and wrote nothing: Kratix then keeps the earlier output.
func CheckRefused(t testing.TB, out *Outcome, field string) {
	t.Helper()
	if out.Err == nil || !strings.HasPrefix(out.Err.Error(), field+": ") || strings.ContainsAny(out.Err.Error(), "\r\n") {
		t.Fatalf("error %v, want one line starting with %q", out.Err, field+": ")
	}
	if len(out.Files) != 0 || out.StatusYAML != nil {
		t.Errorf("a refused run wrote %d files and status %q", len(out.Files), out.StatusYAML)
	}
}
