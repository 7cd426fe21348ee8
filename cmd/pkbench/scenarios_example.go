package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/kratixsim"
	"github.com/promisekit/promisekit/pkg/kratix"
)

// exampleScenarios time the foundation's example stage (test/example): the
// cost of pkg/kratix itself, with no promise logic on top.
func exampleScenarios() ([]Scenario, []Batch) {
	return []Scenario{{
		Name:   "example stage configure (pkg/kratix only)",
		Binary: "example",
		Prepare: func(ctx context.Context, ws *Workspace) (Invocation, error) {
			return firstConfigure(ws.Root, "test/example/promise.yaml", "test/example/examples/greeting.yaml", nil)
		},
		Budget:    3,
		MaxRSSMiB: 40,
	}}, nil
}

// firstConfigure is the invocation of a request's first configure pipeline
// as declared in its Promise.
func firstConfigure(root, promiseFile, requestFile string, env map[string]string) (Invocation, error) {
	wf, err := configureWorkflow(filepath.Join(root, promiseFile))
	if err != nil {
		return Invocation{}, err
	}
	obj, err := os.ReadFile(filepath.Join(root, requestFile))
	if err != nil {
		return Invocation{}, err
	}
	return Invocation{Object: obj, Workflow: wf, Env: env}, nil
}

// configureWorkflow reads a Promise's name, plural and first resource
// configure pipeline.
func configureWorkflow(promiseFile string) (kratixsim.Workflow, error) {
	data, err := os.ReadFile(promiseFile)
	if err != nil {
		return kratixsim.Workflow{}, err
	}
	var p struct {
		Metadata struct{ Name string } `json:"metadata"`
		Spec     struct {
			API struct {
				Spec struct {
					Names struct{ Plural string } `json:"names"`
				} `json:"spec"`
			} `json:"api"`
			Workflows struct {
				Resource struct {
					Configure []struct {
						Metadata struct{ Name string } `json:"metadata"`
					} `json:"configure"`
				} `json:"resource"`
			} `json:"workflows"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &p); err != nil {
		return kratixsim.Workflow{}, fmt.Errorf("%s: %w", promiseFile, err)
	}
	if len(p.Spec.Workflows.Resource.Configure) == 0 {
		return kratixsim.Workflow{}, fmt.Errorf("%s: no resource configure pipeline", promiseFile)
	}
	return kratixsim.Workflow{
		Type: kratix.TypeResource, Action: kratix.ActionConfigure,
		Promise: p.Metadata.Name, Pipeline: p.Spec.Workflows.Resource.Configure[0].Metadata.Name,
		Plural: p.Spec.API.Spec.Names.Plural,
	}, nil
}
