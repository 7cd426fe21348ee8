package apiaggregator

import (
	"testing"

	"github.com/promisekit/promisekit/internal/stagetest"
)

// TestDecideIsPure: the same request and configuration give the same
// plan, for every example request of both kinds.
func TestDecideIsPure(t *testing.T) {
	p := newPlatform(t, "")
	for _, file := range []string{"examples/portal.yaml", "examples/orders.yaml", "examples/invoices.yaml", "examples/legacy-orders.yaml"} {
		h := p.request(readFile(t, file))
		kinds := map[string]func() any{
			KindAggregator: func() any { return stagetest.SamePlan(h, aggregatorStage(nil)) },
			KindTarget:     func() any { return stagetest.SamePlan(h, targetStage(nil)) },
		}
		kind, _ := h.Object["kind"].(string)
		if plan := kinds[kind](); plan == nil {
			t.Fatalf("%s: %s gave no plan", file, kind)
		}
	}
}
