package example

import (
	"context"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/overlays"
)

// Outside is what the stage reaches beyond the state store: nothing but
// the runner of the platform's overlays. A promise that calls a service
// keeps its client here, chosen by main (the real one) or by a test (one
// pointed at a fake or an emulator).
type Outside struct {
	// Overlays runs the platform's overlays: main runs them in the
	// sibling binary (overlays.Sibling), since this one does not link ytt.
	Overlays overlays.Runner
}

// Act carries out the plan: the example has no outside call to make.
func (p *plan) Act(context.Context, Outside) (*kratix.Result, error) {
	return p.result()
}
