package natsuser

import (
	"testing"

	"github.com/promisekit/promisekit/internal/stagetest"
)

// TestDecideIsPure: the same request, configuration and state give the
// same plan, on the first run and on a re-run with state.
func TestDecideIsPure(t *testing.T) {
	e := newSelfHosted(t)
	for _, spec := range []string{ordersSpec, `{account: default, subscribe: {allow: ["metrics.>"]}, credentials: {lifetime: 48h, renewBefore: 12h}}`} {
		h := e.harness(t, "orders-api", spec)
		first := stagetest.SamePlan(h, New(Outside{})).(*configurePlan)
		configure(t, h)
		again := stagetest.SamePlan(h, New(Outside{})).(*configurePlan)
		if first.name != again.name || first.target != again.target || !again.in.Found {
			t.Errorf("plans %+v then %+v", first, again)
		}
	}
}
