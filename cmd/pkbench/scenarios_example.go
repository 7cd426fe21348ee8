package main

import (
	"context"

	"github.com/promisekit/promisekit/internal/benchkit"
)

// exampleScenarios time the foundation's example stage (test/example): the
// cost of pkg/kratix itself, with no promise logic on top.
func exampleScenarios() ([]benchkit.Scenario, []benchkit.Batch) {
	return []benchkit.Scenario{{
		Name:   "example stage configure (pkg/kratix only)",
		Binary: "example",
		Prepare: func(ctx context.Context, ws *benchkit.Workspace) (benchkit.Invocation, error) {
			return benchkit.FirstConfigure(ws.Root, "test/example/promise.yaml", "test/example/examples/greeting.yaml", nil)
		},
		Budget:    3,
		MaxRSSMiB: 40,
	}}, nil
}
