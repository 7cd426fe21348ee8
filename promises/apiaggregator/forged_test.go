package apiaggregator

import (
	"context"
	"maps"
	"testing"

	"github.com/promisekit/promisekit/internal/stagetest"
)

// TestForgedState: status that names another object. A target attaches
// to what its aggregator published in status.apiAggregator, so a published
// parent that is not the aggregator's own listener, an implementation the
// platform does not have or a limit that is not one is refused, naming the
// field; a target's own status is read by no stage, so forging it changes
// nothing. The platform API is a real API server, where status is written
// as Kratix's status writer writes it.
func TestForgedState(t *testing.T) {
	p := newServerPlatform(t, targetRules(t))
	portal := p.request(readFile(t, "examples/portal.yaml"))
	p.mustConfigure(portal)
	orders := p.request(readFile(t, "examples/orders.yaml"))
	want := p.mustConfigure(orders)
	published := portal.StatusCopy(aggregatorStateCodec.Key)

	t.Run("a target's own status", func(t *testing.T) {
		// Another target's whole status, and an older schema version.
		for _, forged := range []map[string]any{
			{"apiAggregatorTarget": map[string]any{"schemaVersion": 1, "aggregator": "platform/other", "paths": "/", "routes": []any{"x"}, "conflictCheck": "x"}},
			{"apiAggregatorTarget": map[string]any{"schemaVersion": 0}},
		} {
			maps.Copy(orders.Object["status"].(map[string]any), forged)
			p.store(orders)
			got := p.mustConfigure(orders)
			if !sameFiles(got.Files, want.Files) {
				t.Errorf("forged status %v changed the output", forged)
			}
		}
	})

	parent := func(forge func(pr map[string]any)) func(map[string]any) {
		return func(st map[string]any) { forge(st["parent"].(map[string]any)) }
	}
	tests := []struct {
		name   string
		forge  func(published map[string]any)
		refuse string
	}{
		{"another aggregator's Gateway", parent(func(pr map[string]any) { pr["name"] = "internal" }), "status.apiAggregator.parent"},
		{"a Gateway in another namespace", parent(func(pr map[string]any) { pr["namespace"] = "team-billing" }), "status.apiAggregator.parent"},
		{"another listener", parent(func(pr map[string]any) { pr["sectionName"] = "admin" }), "status.apiAggregator.parent"},
		{"another kind", parent(func(pr map[string]any) { pr["kind"] = "Service" }), "status.apiAggregator.parent"},
		// The implementation chooses the templates a target renders.
		{"an implementation with no templates", func(st map[string]any) { st["implementation"] = "../target" }, "status.apiAggregator.implementation"},
		{"a limit that is not one", func(st map[string]any) { st["maxRequestBodySize"] = "1e9" }, "status.apiAggregator.maxRequestBodySize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forged := portal.StatusCopy(aggregatorStateCodec.Key)
			tt.forge(forged)
			portal.SetStatus(aggregatorStateCodec.Key, forged)
			p.store(portal)
			t.Cleanup(func() {
				portal.SetStatus(aggregatorStateCodec.Key, published)
				p.store(portal)
			})
			out := orders.Configure(context.Background())
			stagetest.CheckRefused(t, out, tt.refuse)

			// A delete reads nothing: Kratix removes what the target
			// wrote, whatever its aggregator's status says.
			before := len(p.calls())
			del := orders.Delete(context.Background())
			if calls := p.calls()[before:]; del.Err != nil || len(calls) != 0 {
				t.Errorf("delete: %v, platform API calls %q", del.Err, calls)
			}
		})
	}

	// Unforged again, the target renders as before.
	if got := p.mustConfigure(orders); !sameFiles(got.Files, want.Files) {
		t.Error("the target's output changed after the aggregator's status was restored")
	}
}

func sameFiles(a, b map[string][]byte) bool {
	return maps.EqualFunc(a, b, func(x, y []byte) bool { return string(x) == string(y) })
}
