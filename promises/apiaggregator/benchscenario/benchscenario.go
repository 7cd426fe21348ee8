// Package benchscenario is what cmd/pkbench times of the apiaggregator
// promise: its stage binary on the examples, at steady state and as a batch
// of a thousand targets. cmd/pkbench lists Scenarios with the other
// promises'; the types are internal/benchkit's.
package benchscenario

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/benchkit"
	"github.com/promisekit/promisekit/internal/kratixsim"
	"github.com/promisekit/promisekit/internal/localrun/localapi"
	"github.com/promisekit/promisekit/internal/overlaytest"
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/platformapi"
)

const (
	aggregatorPromise = "promises/apiaggregator/apiaggregator-promise.yaml"
	targetPromise     = "promises/apiaggregator/apiaggregatortarget-promise.yaml"
	aggregatorRequest = "promises/apiaggregator/examples/portal.yaml"
)

// The resources the stage reads, as the local runner lays them out.
var (
	aggregatorsResource = platformapi.Resource{Group: "apiaggregator.promisekit.io", Version: "v1alpha1", Plural: "apiaggregators"}
	targetsResource     = platformapi.Resource{Group: "apiaggregator.promisekit.io", Version: "v1alpha1", Plural: "apiaggregatortargets"}
)

// yttBudget is issue 13's bar for a stage that renders ytt templates: its
// median wall time within 5x the floor binary's.
const yttBudget = 5

// Scenarios time the ApiAggregatorTarget stage at its steady
// state (a scheduled re-run), reading its aggregator and sibling targets
// from a local platform API directory as the local runner provides it, and
// render a thousand distinct targets of one aggregator, each of which lists
// all thousand to check its prefixes.
func Scenarios() ([]benchkit.Scenario, []benchkit.Batch) {
	target := func(example string, overlays bool) func(ctx context.Context, ws *benchkit.Workspace) (benchkit.Invocation, error) {
		return func(ctx context.Context, ws *benchkit.Workspace) (benchkit.Invocation, error) {
			env, err := apiaggregatorPlatform(ctx, ws, nil, overlays)
			if err != nil {
				return benchkit.Invocation{}, err
			}
			obj, err := os.ReadFile(filepath.Join(ws.Root, "promises/apiaggregator/examples", example))
			if err != nil {
				return benchkit.Invocation{}, err
			}
			obj, err = storeTarget(env, obj, benchkit.Now.Add(-time.Hour))
			if err != nil {
				return benchkit.Invocation{}, err
			}
			wf, err := kratixsim.ReadWorkflow(filepath.Join(ws.Root, targetPromise), kratix.ActionConfigure)
			if err != nil {
				return benchkit.Invocation{}, err
			}
			return ws.Converge(ctx, "apiaggregator", benchkit.Invocation{Object: obj, Workflow: wf, Env: env}, 2)
		}
	}
	aggregator := func(overlays bool) func(ctx context.Context, ws *benchkit.Workspace) (benchkit.Invocation, error) {
		return func(ctx context.Context, ws *benchkit.Workspace) (benchkit.Invocation, error) {
			env, err := apiaggregatorEnv(ws, overlays)
			if err != nil {
				return benchkit.Invocation{}, err
			}
			inv, err := benchkit.FirstConfigure(ws.Root, aggregatorPromise, aggregatorRequest, env)
			if err != nil {
				return benchkit.Invocation{}, err
			}
			return ws.Converge(ctx, "apiaggregator", inv, 2)
		}
	}
	return []benchkit.Scenario{
			{
				Name:      "apiaggregator target configure, steady state (2 siblings listed)",
				Binary:    "apiaggregator",
				Prepare:   target("orders.yaml", false),
				Budget:    yttBudget,
				MaxRSSMiB: 40,
			},
			{
				Name:      "apiaggregator target configure with a body-size policy",
				Binary:    "apiaggregator",
				Prepare:   target("invoices.yaml", false),
				Budget:    yttBudget,
				MaxRSSMiB: 40,
			},
			{
				Name:      "apiaggregator aggregator configure, steady state (ytt render)",
				Binary:    "apiaggregator",
				Prepare:   aggregator(false),
				Budget:    yttBudget,
				MaxRSSMiB: 40,
			},
			// The same runs through a platform's three overlay files (the
			// READMEs' examples): one more ytt run per stage.
			{
				Name:      "apiaggregator target configure, steady state, three platform overlays",
				Binary:    "apiaggregator",
				Prepare:   target("orders.yaml", true),
				Budget:    yttBudget,
				MaxRSSMiB: 40,
			},
			{
				Name:      "apiaggregator aggregator configure, steady state, three platform overlays",
				Binary:    "apiaggregator",
				Prepare:   aggregator(true),
				Budget:    yttBudget,
				MaxRSSMiB: 40,
			},
		}, []benchkit.Batch{
			{
				Name:   "apiaggregator: 1,000 distinct targets of one aggregator, first configure (each lists all 1,000)",
				Binary: "apiaggregator",
				Prepare: func(ctx context.Context, ws *benchkit.Workspace) ([]benchkit.Invocation, error) {
					return apiaggregatorBatch(ctx, ws, false)
				},
			},
			{
				Name:   "apiaggregator: the same 1,000 targets with platformAPI off (render only)",
				Binary: "apiaggregator",
				Prepare: func(ctx context.Context, ws *benchkit.Workspace) ([]benchkit.Invocation, error) {
					return apiaggregatorBatch(ctx, ws, true)
				},
			},
		}
}

// apiaggregatorEnv is the platform the stages run on: the embedded default
// configuration (an empty file), with overlays the three-file set of
// overlaySet, and a local platform API directory.
func apiaggregatorEnv(ws *benchkit.Workspace, overlays bool) (map[string]string, error) {
	config := filepath.Join(ws.Dir, "apiaggregator-defaults.yaml")
	var settings []byte
	if overlays {
		dir, err := overlaySet(ws)
		if err != nil {
			return nil, err
		}
		config = filepath.Join(ws.Dir, "apiaggregator-overlays.yaml")
		settings = []byte("overlays: " + dir + "\n")
	}
	if err := os.WriteFile(config, settings, 0o644); err != nil {
		return nil, err
	}
	return map[string]string{
		"PROMISEKIT_CONFIG": config,
		localapi.Variable:   filepath.Join(ws.Dir, "platform-api"),
	}, nil
}

// apiaggregatorPlatform configures the portal example with the stage
// binary and stores it, status included, in the platform API directory,
// with every example target (or the given ones) as siblings.
func apiaggregatorPlatform(ctx context.Context, ws *benchkit.Workspace, targets [][]byte, overlays bool) (map[string]string, error) {
	env, err := apiaggregatorEnv(ws, overlays)
	if err != nil {
		return nil, err
	}
	inv, err := benchkit.FirstConfigure(ws.Root, aggregatorPromise, aggregatorRequest, env)
	if err != nil {
		return nil, err
	}
	if inv.Object, err = withCreation(inv.Object, benchkit.Now.Add(-24*time.Hour)); err != nil {
		return nil, err
	}
	if inv, err = ws.Converge(ctx, "apiaggregator", inv, 1); err != nil {
		return nil, fmt.Errorf("configuring the aggregator: %w", err)
	}
	if err := storeObject(env, aggregatorsResource, inv.Object); err != nil {
		return nil, err
	}
	if targets == nil {
		for i, name := range []string{"legacy-orders.yaml", "invoices.yaml"} {
			obj, err := os.ReadFile(filepath.Join(ws.Root, "promises/apiaggregator/examples", name))
			if err != nil {
				return nil, err
			}
			if _, err := storeTarget(env, obj, benchkit.Now.Add(time.Duration(i-2)*time.Hour)); err != nil {
				return nil, err
			}
		}
	}
	for i, obj := range targets {
		if _, err := storeTarget(env, obj, benchkit.Now.Add(time.Duration(i-len(targets))*time.Second)); err != nil {
			return nil, err
		}
	}
	return env, nil
}

// storeTarget gives a target its creation time, as the API server would,
// and stores it as a sibling; it returns the object as stored.
func storeTarget(env map[string]string, obj []byte, created time.Time) ([]byte, error) {
	obj, err := withCreation(obj, created)
	if err != nil {
		return nil, err
	}
	return obj, storeObject(env, targetsResource, obj)
}

func withCreation(obj []byte, created time.Time) ([]byte, error) {
	var m map[string]any
	if err := yaml.Unmarshal(obj, &m); err != nil {
		return nil, err
	}
	meta, _ := m["metadata"].(map[string]any)
	if meta == nil {
		return nil, fmt.Errorf("object has no metadata")
	}
	meta["creationTimestamp"] = created.UTC().Format(time.RFC3339)
	return yaml.Marshal(m)
}

func storeObject(env map[string]string, r platformapi.Resource, obj []byte) error {
	var head struct {
		Metadata struct{ Name, Namespace string } `json:"metadata"`
	}
	if err := yaml.Unmarshal(obj, &head); err != nil {
		return err
	}
	file, err := platformapi.LocalPath(env[localapi.Variable], r, head.Metadata.Namespace, head.Metadata.Name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	return os.WriteFile(file, obj, 0o644)
}

// apiaggregatorBatchSize targets spread over the namespaces the portal
// example admits, each with three prefixes of its own; every tenth
// rewrites a prefix and every twentieth sets a body-size limit.
const apiaggregatorBatchSize = 1000

// With apiOff the stages read no platform API: the cost of reading a
// thousand siblings is then visible as the difference between the batches.
func apiaggregatorBatch(ctx context.Context, ws *benchkit.Workspace, apiOff bool) ([]benchkit.Invocation, error) {
	wf, err := kratixsim.ReadWorkflow(filepath.Join(ws.Root, targetPromise), kratix.ActionConfigure)
	if err != nil {
		return nil, err
	}
	namespaces := []string{"team-orders", "team-billing"}
	objs := make([][]byte, apiaggregatorBatchSize)
	for i := range objs {
		var extra strings.Builder
		if i%10 == 0 {
			extra.WriteString("    rewrite: /v1\n")
		}
		if i%20 == 0 {
			extra.WriteString("  maxRequestBodySize: 8Mi\n")
		}
		objs[i] = fmt.Appendf(nil, `apiVersion: apiaggregator.promisekit.io/v1alpha1
kind: ApiAggregatorTarget
metadata:
  name: svc-%04d
  namespace: %s
spec:
  aggregatorRef: {name: portal, namespace: platform}
  service: {name: svc-%04d, port: 8080}
  paths:
  - prefix: /svc-%04d/admin
  - prefix: /svc-%04d/v2
  - prefix: /svc-%04d/v1
%s`, i, namespaces[i%len(namespaces)], i, i, i, i, extra.String())
	}
	env, err := apiaggregatorPlatform(ctx, ws, objs, false)
	if err != nil {
		return nil, err
	}
	if apiOff {
		config := filepath.Join(ws.Dir, "apiaggregator-api-off.yaml")
		if err := os.WriteFile(config, []byte("platformAPI: \"off\"\n"), 0o644); err != nil {
			return nil, err
		}
		env = map[string]string{"PROMISEKIT_CONFIG": config}
	}
	invs := make([]benchkit.Invocation, len(objs))
	for i, obj := range objs {
		stored, err := withCreation(obj, benchkit.Now.Add(time.Duration(i-len(objs))*time.Second))
		if err != nil {
			return nil, err
		}
		invs[i] = benchkit.Invocation{Object: stored, Workflow: wf, Env: env}
	}
	return invs, nil
}

// overlayFiles are the three overlay files of the overlay scenarios, taken
// from the READMEs that show them, so that the benchmark times what a
// platform would copy: a label on everything and a header filter on the
// portal's routes (apiaggregator), sync waves (environment).
var overlayFiles = []struct{ readme, name string }{
	{"promises/apiaggregator/README.md", "10-labels.yml"},
	{"promises/apiaggregator/README.md", "20-portal-header.yml"},
	{"promises/environment/README.md", "20-sync-waves.yml"},
}

// overlaySet writes the overlay files into a directory of the workspace.
func overlaySet(ws *benchkit.Workspace) (string, error) {
	dir := filepath.Join(ws.Dir, "overlays")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for _, f := range overlayFiles {
		examples, err := overlaytest.ReadExamples(filepath.Join(ws.Root, f.readme))
		if err != nil {
			return "", err
		}
		e, ok := examples[f.name]
		if !ok {
			return "", fmt.Errorf("%s shows no overlay %s", f.readme, f.name)
		}
		if err := os.WriteFile(filepath.Join(dir, f.name), []byte(e.Body), 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}
