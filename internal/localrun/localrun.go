// Package localrun runs a Promise's pipeline binaries on a resource request
// the way Kratix would, without a cluster. It is what `kratix-run` and
// `make demo` use, and how a platform engineer tries a promise locally.
//
// For each run it: keeps the request as the API server would (uid,
// creationTimestamp, generation, and the status merged from earlier runs);
// runs every container of every pipeline of the workflow with Kratix's
// environment and fresh /kratix directories; merges status.yaml with
// Kratix's semantics; and writes the output into a state-store tree laid out
// as Kratix's writer lays it out, for Argo CD to read. Re-running the same
// request is a scheduled re-run: the stored status goes in again.
package localrun

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/kratixsim"
	"github.com/promisekit/promisekit/internal/localrun/localapi"
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/platformapi"
)

// PlatformDir is the directory below the state store where the runner keeps
// the objects it has seen: the local stand-in for the platform's API server.
const PlatformDir = ".platform"

// Destination is a Kratix Destination: a name and its labels.
type Destination struct {
	Name   string
	Labels map[string]string
}

// Options configure one run.
type Options struct {
	PromiseFile string
	RequestFile string
	StateStore  string
	BinDir      string
	Action      string            // kratix.ActionConfigure (default) or kratix.ActionDelete
	Env         map[string]string // platform configuration passed to every container
	Now         time.Time         // the run's clock; zero means time.Now
	// Destinations default to one, "worker-1", labelled environment=dev.
	Destinations []Destination
	// Log receives one line per step and each container's stderr.
	Log io.Writer
	// APIServer, when set, is the connection directory of a real API
	// server (platformapi.ReadConnection) serving the Promise's CRD: the
	// runner keeps every object there too, with the server's identity, and
	// the binaries reach it as their platform API instead of the
	// directory under the state store.
	APIServer string
}

// Outcome is what a run did.
type Outcome struct {
	Object  map[string]any // the object as stored after the run (nil once deleted)
	Written []string       // state-store files written, relative to the store
	Deleted bool           // the request was deleted (delete action, or the stage deleted it)
	// Control is the workflow control a pipeline wrote: the workflow
	// stopped there, its output was not written and the earlier output
	// stays.
	Control *kratix.Control
}

// Run runs the request's workflow once.
func Run(ctx context.Context, o Options) (*Outcome, error) {
	if o.Action == "" {
		o.Action = kratix.ActionConfigure
	}
	if o.Now.IsZero() {
		o.Now = time.Now().UTC().Truncate(time.Second)
	}
	if len(o.Destinations) == 0 {
		o.Destinations = []Destination{{Name: "worker-1", Labels: map[string]string{"environment": "dev"}}}
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	p, err := readPromise(o.PromiseFile)
	if err != nil {
		return nil, err
	}
	r := &runner{o: o, p: p}
	if o.APIServer != "" {
		spec := p.Spec.API.Spec
		version := ""
		for _, v := range spec.Versions {
			if v.Served && version == "" {
				version = v.Name
			}
		}
		if r.srv, err = newAPIServer(o.APIServer, spec.Group, version, spec.Names.Plural); err != nil {
			return nil, err
		}
	}
	obj, err := r.admit()
	if err != nil {
		return nil, err
	}
	switch o.Action {
	case kratix.ActionConfigure:
		return r.configure(ctx, obj)
	case kratix.ActionDelete:
		return r.delete(ctx, obj)
	}
	return nil, fmt.Errorf("unknown action %q", o.Action)
}

type runner struct {
	o   Options
	p   *promise
	srv *apiServer // nil: the directory is the platform API
}

// save stores the object: in the API server first, when there is one, so
// that a new object takes the server's identity, then in the directory.
func (r *runner) save(ctx context.Context, file string, obj map[string]any) error {
	if r.srv != nil {
		if err := r.srv.put(ctx, obj); err != nil {
			return err
		}
	}
	return writeYAML(file, obj)
}

func (r *runner) resource() platformapi.Resource {
	s := r.p.Spec.API.Spec
	return platformapi.Resource{Group: s.Group, Plural: s.Names.Plural}
}

func (r *runner) objectFile(namespace, name string) (string, error) {
	return platformapi.LocalPath(filepath.Join(r.o.StateStore, PlatformDir), r.resource(), namespace, name)
}

// admit reads the request and combines it with the stored object, as the
// API server would on create or update.
func (r *runner) admit() (map[string]any, error) {
	data, err := os.ReadFile(r.o.RequestFile)
	if err != nil {
		return nil, fmt.Errorf("reading request: %w", err)
	}
	var req map[string]any
	if err := yaml.Unmarshal(data, &req); err != nil {
		return nil, fmt.Errorf("request %s: %w", r.o.RequestFile, err)
	}
	apiVersion, _ := req["apiVersion"].(string)
	kind, _ := req["kind"].(string)
	if kind != r.p.Spec.API.Spec.Names.Kind || !r.p.serves(apiVersion) {
		return nil, fmt.Errorf("request %s is a %s %s; promise %s serves %s in %s", r.o.RequestFile, apiVersion, kind, r.p.Metadata.Name, r.p.Spec.API.Spec.Names.Kind, r.p.Spec.API.Spec.Group)
	}
	meta, _ := req["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	namespace, _ := meta["namespace"].(string)
	if namespace == "" {
		namespace = "default"
	}
	file, err := r.objectFile(namespace, name)
	if err != nil {
		return nil, fmt.Errorf("request %s: %w", r.o.RequestFile, err)
	}
	stored, err := readYAML(file)
	if err != nil {
		return nil, err
	}
	if stored == nil {
		if r.o.Action == kratix.ActionDelete {
			return nil, fmt.Errorf("%s %s/%s does not exist in %s", kind, namespace, name, r.o.StateStore)
		}
		sum := sha256.Sum256([]byte(r.resource().Group + "/" + r.resource().Plural + "/" + namespace + "/" + name + "/" + r.o.Now.Format(time.RFC3339Nano)))
		h := hex.EncodeToString(sum[:16])
		meta["namespace"] = namespace
		meta["uid"] = h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
		meta["creationTimestamp"] = r.o.Now.UTC().Format(time.RFC3339)
		meta["generation"] = int64(1)
		req["metadata"] = meta
		return req, nil
	}
	// An update: the request's spec, labels and annotations win; identity,
	// creation time and status are the server's.
	smeta, _ := stored["metadata"].(map[string]any)
	for _, k := range []string{"labels", "annotations"} {
		if v, ok := meta[k]; ok {
			smeta[k] = v
		} else {
			delete(smeta, k)
		}
	}
	if !reflect.DeepEqual(stored["spec"], req["spec"]) {
		gen, _ := smeta["generation"].(float64)
		smeta["generation"] = int64(gen) + 1
	}
	stored["spec"] = req["spec"]
	return stored, nil
}

func (r *runner) configure(ctx context.Context, obj map[string]any) (*Outcome, error) {
	file, err := r.objectFile(namespaceName(obj))
	if err != nil {
		return nil, err
	}
	// The API server holds the request before Kratix runs anything, so
	// stages listing siblings see it too.
	if err := r.save(ctx, file, obj); err != nil {
		return nil, err
	}
	out := &Outcome{}
	// Running it again is what Kratix does when the retry is due or the
	// spec changed: both lift a suspension.
	kratixsim.SetSuspended(obj, false)
	for i, pl := range r.p.Spec.Workflows.Resource.Configure {
		if i == 0 {
			kratixsim.SetPending(obj)
		}
		dirs, err := r.runPipeline(ctx, obj, pl, kratix.ActionConfigure)
		if err == nil {
			err = r.applyStatus(obj, dirs)
		}
		if err == nil {
			out.Control, err = readWorkflowControl(dirs.MetadataDir)
		}
		var written []string
		if err == nil && out.Control == nil {
			written, err = r.place(obj, pl.Metadata.Name, dirs)
		}
		removePod(dirs)
		if err != nil {
			return nil, err
		}
		out.Written = append(out.Written, written...)
		if out.Control != nil {
			// Kratix writes no Work and runs no later pipeline; the
			// request is labelled and keeps its earlier output.
			kratixsim.SetSuspended(obj, true)
			fmt.Fprintf(r.o.Log, "%s: workflow stopped by %s: %s\n", pl.Metadata.Name, out.Control, out.Control.Message)
			if err := r.save(ctx, file, obj); err != nil {
				return nil, err
			}
			out.Object = obj
			return out, nil
		}
	}
	kratixsim.MarkCompleted(obj, r.o.Now.UTC().Format(time.RFC3339))
	var still bool
	if r.srv != nil {
		// The stage deletes its request from the server, not the directory.
		namespace, name := namespaceName(obj)
		still, err = r.srv.exists(ctx, namespace, name)
	} else {
		still, err = exists(file)
	}
	if err != nil {
		return nil, err
	} else if !still {
		// The stage deleted its own request through the local API (an
		// expired environment): Kratix would now run the delete workflow.
		fmt.Fprintf(r.o.Log, "the stage deleted its own request; running the delete workflow\n")
		return r.delete(ctx, obj)
	}
	if err := r.save(ctx, file, obj); err != nil {
		return nil, err
	}
	out.Object = obj
	return out, nil
}

func (r *runner) delete(ctx context.Context, obj map[string]any) (*Outcome, error) {
	if pls := r.p.Spec.Workflows.Resource.Delete; len(pls) > 0 {
		// Kratix runs only the first delete pipeline (lib/workflow/reconciler.go).
		kratixsim.SetPending(obj)
		dirs, err := r.runPipeline(ctx, obj, pls[0], kratix.ActionDelete)
		if err == nil {
			err = r.applyStatus(obj, dirs)
		}
		removePod(dirs)
		if err != nil {
			return nil, err
		}
	}
	// Work cleanup: every file the request's pipelines put in the store.
	namespace, name := namespaceName(obj)
	dirs, err := filepath.Glob(filepath.Join(r.o.StateStore, "*", "resources", namespace, r.p.Metadata.Name, name))
	if err != nil {
		return nil, err
	}
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			return nil, fmt.Errorf("removing %s: %w", d, err)
		}
	}
	file, err := r.objectFile(namespace, name)
	if err != nil {
		return nil, err
	}
	if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if r.srv != nil {
		if err := r.srv.remove(ctx, namespace, name); err != nil {
			return nil, err
		}
	}
	return &Outcome{Deleted: true}, nil
}

// runPipeline runs a pipeline's containers in order in one fresh set of
// /kratix directories, as one Pod would.
func (r *runner) runPipeline(ctx context.Context, obj map[string]any, pl pipeline, action string) (kratix.Paths, error) {
	root, err := os.MkdirTemp("", "kratix-run-")
	if err != nil {
		return kratix.Paths{}, err
	}
	dirs := kratix.Paths{
		InputFile:   filepath.Join(root, "input", "object.yaml"),
		OutputDir:   filepath.Join(root, "output"),
		MetadataDir: filepath.Join(root, "metadata"),
	}
	for _, d := range []string{filepath.Dir(dirs.InputFile), dirs.OutputDir, dirs.MetadataDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return dirs, err
		}
	}
	if err := writeYAML(dirs.InputFile, obj); err != nil {
		return dirs, err
	}
	wf := kratixsim.Workflow{
		Type: kratix.TypeResource, Action: action, Promise: r.p.Metadata.Name,
		Pipeline: pl.Metadata.Name, Plural: r.p.Spec.API.Spec.Names.Plural,
	}
	namespace, name := namespaceName(obj)
	for _, c := range pl.Spec.Containers {
		bin := filepath.Join(r.o.BinDir, binaryName(c.Image))
		if _, err := os.Stat(bin); err != nil {
			return dirs, fmt.Errorf("pipeline %s container %s: no binary for image %s in %s (run make build)", pl.Metadata.Name, c.Name, c.Image, r.o.BinDir)
		}
		env := kratixsim.Env(obj, wf)
		for _, e := range c.Env {
			env[e.Name] = e.Value
		}
		maps.Copy(env, r.o.Env)
		env["KRATIX_INPUT_FILE"] = dirs.InputFile
		env["KRATIX_OUTPUT_DIR"] = dirs.OutputDir
		env["KRATIX_METADATA_DIR"] = dirs.MetadataDir
		env[kratix.NowVariable] = r.o.Now.UTC().Format(time.RFC3339)
		if r.srv != nil {
			env[localapi.ServerVariable] = r.o.APIServer
		} else {
			env[localapi.Variable] = filepath.Join(r.o.StateStore, PlatformDir)
		}

		cmd := exec.CommandContext(ctx, bin)
		cmd.Env = envList(env)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		cmd.Stdout = r.o.Log
		err := cmd.Run()
		r.o.Log.Write(stderr.Bytes())
		if err != nil {
			msg := strings.TrimSpace(stderr.String())
			if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
				msg = msg[i+1:]
			}
			return dirs, fmt.Errorf("%s %s/%s: pipeline %s container %s failed (%v): %s", action, namespace, name, pl.Metadata.Name, c.Name, err, msg)
		}
	}
	return dirs, nil
}

func (r *runner) applyStatus(obj map[string]any, dirs kratix.Paths) error {
	data, err := os.ReadFile(filepath.Join(dirs.MetadataDir, "status.yaml"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return kratixsim.ApplyStatus(obj, data)
}

// removePod removes a pipeline run's /kratix directories.
func removePod(dirs kratix.Paths) {
	if dirs.OutputDir != "" {
		os.RemoveAll(filepath.Dir(dirs.OutputDir))
	}
}

func envList(env map[string]string) []string {
	list := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		list = append(list, k+"="+env[k])
	}
	return list
}

func namespaceName(obj map[string]any) (string, string) {
	meta, _ := obj["metadata"].(map[string]any)
	ns, _ := meta["namespace"].(string)
	name, _ := meta["name"].(string)
	return ns, name
}

func readYAML(file string) (map[string]any, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return m, nil
}

func writeYAML(file string, v any) error {
	data, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	return os.WriteFile(file, data, 0o644)
}

func exists(file string) (bool, error) {
	_, err := os.Stat(file)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
