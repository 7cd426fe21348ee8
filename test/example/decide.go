package example

import (
	"fmt"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/stage"
)

// input is what the example's workflows decide from.
type input = stage.Input[Spec, Config, State]

// plan is a configure run's decision.
type plan struct {
	name, namespace string
	greeting        string
	replicas        int
	state           State
}

func decideConfigure(in *input) (stage.Plan[Outside], error) {
	if err := in.Spec.Validate(); err != nil {
		return nil, err
	}
	replicas := in.Config.DefaultReplicas
	if in.Spec.Replicas != nil {
		replicas = *in.Spec.Replicas
	}
	return &plan{
		name:      in.Object.Metadata.Name,
		namespace: in.Namespace,
		greeting:  in.Spec.Greeting,
		replicas:  replicas,
		state:     next(in.State, in.Found, in.Spec.Greeting),
	}, nil
}

// decideDelete is the delete workflow. Kratix removes the request's output
// itself and ignores a delete pipeline's output, so there is only a message
// to set.
func decideDelete(in *input) (stage.Plan[Outside], error) {
	return stage.Done[Outside]{Result: &kratix.Result{Message: fmt.Sprintf("greeting %s removed", in.Object.Metadata.Name)}}, nil
}
