package apiaggregator

import (
	"fmt"
	"strings"

	"github.com/promisekit/promisekit/pkg/kratix"
)

// result is a target's documents, status and message, once its aggregator
// is known and its prefixes are checked.
func (p *targetPlan) result(agg aggregatorState, conflictCheck string) (*kratix.Result, error) {
	res := &kratix.Result{}
	add := func(obj any) { res.Documents = append(res.Documents, kratix.Document{Object: obj}) }
	routes := p.spec.routes(p.me, agg.Parent)
	routeNames := make([]string, len(routes))
	targets := make([]policyTarget, len(routes))
	for i, r := range routes {
		add(r)
		routeNames[i] = r.Metadata.Name
		targets[i] = policyTarget{Group: gatewayGroup, Kind: httpRouteKind, Name: r.Metadata.Name}
	}
	if grant := p.spec.referenceGrant(p.me, agg.Parent); grant != nil {
		add(grant)
	}
	if p.spec.MaxRequestBodySize != "" {
		meta := objectMeta{Name: p.me.Name, Namespace: p.me.Namespace, Labels: targetLabels(p.me, agg.Parent)}
		policy, err := newBodySizePolicy(agg.Implementation, meta, targets, p.spec.MaxRequestBodySize)
		if err != nil {
			return nil, err
		}
		add(policy)
	}
	if len(agg.DestinationSelector) > 0 {
		// The routes must reach the cluster that runs the aggregator's
		// Gateway.
		res.DestinationSelectors = []kratix.DestinationSelector{{MatchLabels: agg.DestinationSelector}}
	}
	prefixes := make([]string, len(p.spec.Paths))
	for i, p := range p.spec.Paths {
		prefixes[i] = p.Prefix
	}
	err := targetStatus.Store(res, targetState{
		Aggregator:    p.ref.String(),
		Paths:         strings.Join(prefixes, " "),
		Routes:        routeNames,
		ConflictCheck: conflictCheck,
	})
	if err != nil {
		return nil, err
	}
	res.Message = fmt.Sprintf("%d %s routed to Service %s port %d through %s", len(prefixes), plural(len(prefixes), "path", "paths"), p.spec.serviceNamespace(p.me.Namespace)+"/"+p.spec.Service.Name, p.spec.Service.Port, agg.Parent)
	return res, nil
}
