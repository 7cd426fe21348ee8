package apiaggregator

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/promisekit/promisekit/pkg/k8sname"
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/stage"
)

// aggregatorInput is what an aggregator's run decides from.
type aggregatorInput = stage.Input[aggregatorSpec, Config, noState]

// aggregatorPlan is an aggregator's decision: its Gateway (or ListenerSet)
// needs nothing from outside.
type aggregatorPlan struct {
	cfg             *Config
	spec            *aggregatorSpec
	name, namespace string
}

func decideAggregator(in *aggregatorInput) (stage.Plan[Outside], error) {
	if err := in.Spec.validate(*in.Config); err != nil {
		return nil, err
	}
	name := in.Object.Metadata.Name
	if !k8sname.IsDNSLabel(name) {
		return nil, &kratix.FieldError{Field: "metadata.name", Detail: "must be a DNS label (at most 63 lower-case letters, digits and '-'): it names the Gateway"}
	}
	return &aggregatorPlan{cfg: in.Config, spec: &in.Spec, name: name, namespace: in.Namespace}, nil
}

// aggregatorParent is what an aggregator's targets attach to: the HTTPS
// listener of its own Gateway, or of its ListenerSet on the shared Gateway.
// Both are named after the aggregator.
func aggregatorParent(cfg Config, name, namespace string) parentRef {
	kind := "Gateway"
	if cfg.SharedGateway != nil {
		kind = "ListenerSet"
	}
	return parentRef{Kind: kind, Namespace: cmp.Or(cfg.GatewayNamespace, namespace), Name: name, SectionName: listenerHTTPS}
}

// targetInput is what a target's run decides from.
type targetInput = stage.Input[targetSpec, Config, noState]

// targetPlan is a target's decision before it reads its aggregator and
// siblings.
type targetPlan struct {
	cfg  *Config
	spec *targetSpec
	me   claimant
	ref  objectRef // the aggregator
	// req is the run's request; Outside.Connect reads the Pod's
	// KUBERNETES_SERVICE_* through req.Getenv.
	req *kratix.Request
}

func decideTarget(in *targetInput) (stage.Plan[Outside], error) {
	spec := &in.Spec
	if err := spec.validate(in.Object.Metadata.Name); err != nil {
		return nil, err
	}
	me := claimantOf(in.Object)
	return &targetPlan{cfg: in.Config, spec: spec, me: me, ref: spec.AggregatorRef.resolve(me.Namespace), req: in.Request}, nil
}

// aggregatorFromConfig is what a target assumes about its aggregator when it
// cannot read it: the Gateway the aggregator's stage would render under the
// same platform configuration.
func aggregatorFromConfig(cfg Config, ref objectRef) aggregatorState {
	return aggregatorState{
		Parent:                 aggregatorParent(cfg, ref.Name, ref.Namespace),
		Implementation:         cfg.Implementation,
		DestinationSelector:    cfg.DestinationSelector,
		CrossNamespaceBackends: cfg.CrossNamespaceBackends,
	}
}

// checkPlacement checks what the aggregator decides: whether this
// namespace may attach, whether the Service may be in another namespace,
// and whether its gateway implementation can limit request bodies.
func (s *targetSpec) checkPlacement(namespace string, ref objectRef, agg aggregatorState) error {
	var errs kratix.FieldErrors
	if !agg.RouteNamespaces.admits(namespace) {
		errs.Add("spec.aggregatorRef", fmt.Sprintf("ApiAggregator %s does not admit routes from namespace %q; ask the platform team to add it to spec.routeNamespaces", ref, namespace))
	}
	if ns := s.serviceNamespace(namespace); ns != namespace && !agg.CrossNamespaceBackends {
		errs.Add("spec.service.namespace", fmt.Sprintf("the platform does not allow routes to Services in other namespaces (%q)", ns))
	}
	if s.MaxRequestBodySize != "" && agg.Implementation == NoImplementation {
		errs.Add("spec.maxRequestBodySize", "the platform's gateway implementation has no request-body limit; leave it unset")
	}
	return errs.Err()
}

// checkPublished refuses an aggregator whose published parent is not its
// own listener: status is not trusted to name an outside object, and a
// route attached elsewhere would serve the team's paths on another
// hostname. The aggregator's Gateway or ListenerSet carries its name, in
// its namespace or in the platform's gateway namespace.
func checkPublished(cfg Config, ref objectRef, agg aggregatorState) error {
	if !slices.Contains(implementations, agg.Implementation) {
		// It chooses the templates a target renders.
		return &kratix.FieldError{Field: "status." + aggregatorStateCodec.Key + ".implementation", Detail: fmt.Sprintf("ApiAggregator %s publishes gateway implementation %q, which is not one of %v", ref, agg.Implementation, implementations)}
	}
	p := agg.Parent
	ownNamespace := p.Namespace == ref.Namespace || (cfg.GatewayNamespace != "" && p.Namespace == cfg.GatewayNamespace)
	if (p.Kind == "Gateway" || p.Kind == "ListenerSet") && p.Name == ref.Name && p.SectionName == listenerHTTPS && ownNamespace {
		return nil
	}
	return &kratix.FieldError{Field: "status." + aggregatorStateCodec.Key + ".parent", Detail: fmt.Sprintf("ApiAggregator %s publishes %s (listener %q), which is not its own listener; a target attaches only to its aggregator's", ref, p, p.SectionName)}
}
