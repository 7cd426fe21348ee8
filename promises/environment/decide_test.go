package environment

import (
	"testing"

	"github.com/promisekit/promisekit/internal/stagetest"
)

// TestDecideIsPure: the same request, configuration and state give the
// same plan, for every example request under every example configuration.
func TestDecideIsPure(t *testing.T) {
	for _, config := range []string{"", "examples/platform/ack.yaml"} {
		for _, file := range []string{"examples/preview.yaml", "examples/development.yaml"} {
			t.Run(config+" "+file, func(t *testing.T) {
				h := newPipeline(t, request(t, file, nil), config, nil)
				p := stagetest.SamePlan(h.Harness, New(Outside{})).(*plan)
				if p.namespace == "" || p.owner == "" {
					t.Errorf("plan %+v names no namespace or owner", p)
				}
			})
		}
	}
}
