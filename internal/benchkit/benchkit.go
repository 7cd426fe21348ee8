// Package benchkit is what cmd/pkbench shares with the promises' benchmark
// scenarios (promises/<p>/benchscenario): the Scenario and Batch a promise
// registers, the Workspace a scenario prepares in, and the Pod that runs a
// stage binary as Kratix would start it. pkbench times the scenarios; a
// promise's package says what to time.
//
// It is for benchmarks only: no pipeline binary imports it.
package benchkit

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

// Now is the clock of every benchmark run, so that Converge and the timed
// runs agree on what is due.
var Now = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

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
		pod, err := NewPod(ws.Dir, data)
		if err != nil {
			return inv, err
		}
		cmd := pod.Command(ctx, filepath.Join(ws.BinDir, binary), inv)
		out, err := cmd.CombinedOutput()
		if err != nil {
			pod.Remove()
			return inv, fmt.Errorf("converging run %d: %v: %s", i+1, err, out)
		}
		status, err := os.ReadFile(filepath.Join(pod.Paths.MetadataDir, "status.yaml"))
		if err != nil && !os.IsNotExist(err) {
			pod.Remove()
			return inv, err
		}
		pod.Remove()
		if err := kratixsim.ApplyStatus(obj, status); err != nil {
			return inv, err
		}
		kratixsim.MarkCompleted(obj, Now.Format(time.RFC3339))
	}
	data, err := yaml.Marshal(obj)
	if err != nil {
		return inv, err
	}
	inv.Object = data
	return inv, nil
}

// FirstConfigure is the invocation of a request's first configure pipeline
// as declared in its Promise; both files are relative to the repository
// root.
func FirstConfigure(root, promiseFile, requestFile string, env map[string]string) (Invocation, error) {
	wf, err := kratixsim.ReadWorkflow(filepath.Join(root, promiseFile), kratix.ActionConfigure)
	if err != nil {
		return Invocation{}, err
	}
	obj, err := os.ReadFile(filepath.Join(root, requestFile))
	if err != nil {
		return Invocation{}, err
	}
	return Invocation{Object: obj, Workflow: wf, Env: env}, nil
}

// Pod is one run's /kratix directories.
type Pod struct {
	Paths kratix.Paths
	root  string
	obj   map[string]any
}

// NewPod makes a pod's directories under dir, with object as its input.
func NewPod(dir string, object []byte) (*Pod, error) {
	root, err := os.MkdirTemp(dir, "pod-")
	if err != nil {
		return nil, err
	}
	p := &Pod{root: root, Paths: kratix.Paths{
		InputFile:   filepath.Join(root, "input", "object.yaml"),
		OutputDir:   filepath.Join(root, "output"),
		MetadataDir: filepath.Join(root, "metadata"),
	}}
	for _, d := range []string{filepath.Dir(p.Paths.InputFile), p.Paths.OutputDir, p.Paths.MetadataDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := yaml.Unmarshal(object, &p.obj); err != nil {
		return nil, fmt.Errorf("parsing object: %w", err)
	}
	return p, os.WriteFile(p.Paths.InputFile, object, 0o644)
}

// Command starts binary as Kratix would in this pod: Kratix's variables,
// the container's, and the directory overrides; nothing else.
func (p *Pod) Command(ctx context.Context, binary string, inv Invocation) *exec.Cmd {
	env := kratixsim.Env(p.obj, inv.Workflow)
	maps.Copy(env, inv.Env)
	env["KRATIX_INPUT_FILE"] = p.Paths.InputFile
	env["KRATIX_OUTPUT_DIR"] = p.Paths.OutputDir
	env["KRATIX_METADATA_DIR"] = p.Paths.MetadataDir
	env[kratix.NowVariable] = Now.Format(time.RFC3339)
	cmd := exec.CommandContext(ctx, binary)
	for _, k := range slices.Sorted(maps.Keys(env)) {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	return cmd
}

// Reset empties the output and metadata directories between runs, as a new
// Pod would have them.
func (p *Pod) Reset() error {
	for _, d := range []string{p.Paths.OutputDir, p.Paths.MetadataDir} {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// Remove removes the pod's directories.
func (p *Pod) Remove() { os.RemoveAll(p.root) }
