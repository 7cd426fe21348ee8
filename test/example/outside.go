package example

import (
	"context"

	"github.com/promisekit/promisekit/pkg/kratix"
)

// Outside is what the stage reaches beyond the state store: nothing. A
// promise that calls a service keeps its client here, chosen by main (the
// real one) or by a test (one pointed at a fake or an emulator).
type Outside struct{}

// Act carries out the plan: the example has no outside call to make.
func (p *plan) Act(context.Context, Outside) (*kratix.Result, error) {
	return p.result()
}
