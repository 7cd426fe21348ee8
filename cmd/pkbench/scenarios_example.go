package main

import (
	"context"
	"os"
	"path/filepath"

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
