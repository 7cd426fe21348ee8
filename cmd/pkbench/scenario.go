package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/kratixsim"
	"github.com/promisekit/promisekit/pkg/kratix"
)

// Invocation is one run of a stage binary as Kratix would start it.
type Invocation struct {
	Object   []byte             // input object YAML, status included
	Workflow kratixsim.Workflow // Type, Action, Promise, Pipeline, Plural
	Env      map[string]string  // platform configuration variables
}

// Scenario is timed many times next to the floor binary with the same Object.
type Scenario struct {
	Name      string
	Binary    string // name under the bin directory
	Prepare   func(ctx context.Context, ws *Workspace) (Invocation, error)
	Budget    float64 // ratio to the floor's median wall time that must hold; 0 = none
	MaxRSSMiB float64 // peak-memory budget; 0 = none
}

// Batch runs every invocation once, as that many Pods would.
type Batch struct {
	Name     string
	Binary   string
	Prepare  func(ctx context.Context, ws *Workspace) ([]Invocation, error)
	Counters func() map[string]float64 // reported per request; may be nil
}

// Workspace gives a scenario scratch space and the built binaries.
type Workspace struct {
	Dir    string // scratch, removed afterwards
	BinDir string
	Root   string // repository root
}

// benchNow is the clock of every benchmark run, so that Converge and the
// timed runs agree on what is due.
var benchNow = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

// Converge runs binary runs times on inv, merging status the way Kratix
// does, and returns inv with the resulting object: the input of a
// steady-state re-run.
func (ws *Workspace) Converge(ctx context.Context, binary string, inv Invocation, runs int) (Invocation, error) {
	var obj map[string]any
	if err := yaml.Unmarshal(inv.Object, &obj); err != nil {
		return inv, fmt.Errorf("parsing object: %w", err)
	}
	for i := range runs {
		kratixsim.SetPending(obj)
		data, err := yaml.Marshal(obj)
		if err != nil {
			return inv, err
		}
		pod, err := newPod(ws.Dir, data)
		if err != nil {
			return inv, err
		}
		cmd := pod.command(ctx, filepath.Join(ws.BinDir, binary), inv)
		out, err := cmd.CombinedOutput()
		if err != nil {
			pod.remove()
			return inv, fmt.Errorf("converging run %d: %v: %s", i+1, err, out)
		}
		status, err := os.ReadFile(filepath.Join(pod.paths.MetadataDir, "status.yaml"))
		if err != nil && !os.IsNotExist(err) {
			pod.remove()
			return inv, err
		}
		pod.remove()
		if err := kratixsim.ApplyStatus(obj, status); err != nil {
			return inv, err
		}
		kratixsim.MarkCompleted(obj, benchNow.Format(time.RFC3339))
	}
	data, err := yaml.Marshal(obj)
	if err != nil {
		return inv, err
	}
	inv.Object = data
	return inv, nil
}

// pod is one run's /kratix directories.
type pod struct {
	root  string
	obj   map[string]any
	paths kratix.Paths
}

func newPod(dir string, object []byte) (*pod, error) {
	root, err := os.MkdirTemp(dir, "pod-")
	if err != nil {
		return nil, err
	}
	p := &pod{root: root, paths: kratix.Paths{
		InputFile:   filepath.Join(root, "input", "object.yaml"),
		OutputDir:   filepath.Join(root, "output"),
		MetadataDir: filepath.Join(root, "metadata"),
	}}
	for _, d := range []string{filepath.Dir(p.paths.InputFile), p.paths.OutputDir, p.paths.MetadataDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := yaml.Unmarshal(object, &p.obj); err != nil {
		return nil, fmt.Errorf("parsing object: %w", err)
	}
	return p, os.WriteFile(p.paths.InputFile, object, 0o644)
}

// command starts binary as Kratix would in this pod: Kratix's variables,
// the container's, and the directory overrides; nothing else.
func (p *pod) command(ctx context.Context, binary string, inv Invocation) *exec.Cmd {
	env := kratixsim.Env(p.obj, inv.Workflow)
	maps.Copy(env, inv.Env)
	env["KRATIX_INPUT_FILE"] = p.paths.InputFile
	env["KRATIX_OUTPUT_DIR"] = p.paths.OutputDir
	env["KRATIX_METADATA_DIR"] = p.paths.MetadataDir
	env[kratix.NowVariable] = benchNow.Format(time.RFC3339)
	cmd := exec.CommandContext(ctx, binary)
	for _, k := range slices.Sorted(maps.Keys(env)) {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	return cmd
}

// reset empties the output and metadata directories between runs, as a new
// Pod would have them.
func (p *pod) reset() error {
	for _, d := range []string{p.paths.OutputDir, p.paths.MetadataDir} {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}

func (p *pod) remove() { os.RemoveAll(p.root) }
