package example

import (
	"context"
	"testing"

	"github.com/promisekit/promisekit/internal/stagetest"
)

// TestDecideIsPure: the same request, configuration and state give the
// same plan, on the first run and on a re-run with state.
func TestDecideIsPure(t *testing.T) {
	h := stagetest.New(t, "example", Workflows(Outside{}), workflow, readFile(t, "examples/greeting.yaml"))
	first := stagetest.SamePlan(h, New(Outside{})).(*plan)
	if out := h.Configure(context.Background()); out.Err != nil {
		t.Fatal(out.Err)
	}
	again := stagetest.SamePlan(h, New(Outside{})).(*plan)
	if first.state.FirstGreeting != again.state.FirstGreeting || again.replicas != 2 {
		t.Errorf("plans %+v then %+v", first, again)
	}
}
