package apiaggregator

import (
	"cmp"
	"fmt"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/stage"
	"github.com/promisekit/promisekit/pkg/state"
)

// targetSpec is an ApiAggregatorTarget's spec.
type targetSpec struct {
	// AggregatorRef names the ApiAggregator to attach to; its namespace
	// defaults to the target's own, as a Gateway API parentRef's does.
	AggregatorRef objectRef `json:"aggregatorRef"`
	// Service receives every path's traffic.
	Service serviceRef `json:"service"`
	// Paths are the prefixes routed to the Service, in the team's order.
	Paths []pathRule `json:"paths"`
	// Timeouts apply to every path.
	Timeouts *routeTimeouts `json:"timeouts,omitempty"`
	// MaxRequestBodySize overrides the aggregator's request-body limit.
	MaxRequestBodySize string `json:"maxRequestBodySize,omitempty"`
}

type objectRef struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

type serviceRef struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	Port      int32  `json:"port"`
}

type pathRule struct {
	Prefix string `json:"prefix"`
	// Rewrite replaces the matched prefix before the request reaches the
	// Service ("/legacy/orders" → "/orders").
	Rewrite string `json:"rewrite,omitempty"`
}

type routeTimeouts struct {
	Request        string `json:"request,omitempty"`
	BackendRequest string `json:"backendRequest,omitempty"`
}

// Limits of one target. Gateway API allows 16 rules per HTTPRoute; a target
// with more prefixes gets several routes.
const (
	maxPaths         = 128
	maxRulesPerRoute = 16
)

// targetState is what a target reports in its status. Paths is one string
// so that `kubectl get` can show it in a column.
type targetState struct {
	Aggregator string   `json:"aggregator"`
	Paths      string   `json:"paths"`
	Routes     []string `json:"routes"`
	// ConflictCheck says what the prefixes were checked against.
	ConflictCheck string `json:"conflictCheck"`
}

var targetStatus = state.Codec[targetState]{Key: "apiAggregatorTarget", Version: 1}

// targetInput is what a target's run decides from.
type targetInput = stage.Input[targetSpec, Config, targetState]

// targetPlan is a target's decision before it reads its aggregator and
// siblings.
type targetPlan struct {
	cfg  *Config
	spec *targetSpec
	me   claimant
	ref  objectRef // the aggregator
	// getenv is for Outside.Connect (the Pod's KUBERNETES_SERVICE_*).
	getenv func(string) string
}

func decideTarget(in *targetInput) (stage.Plan[Outside], error) {
	spec := &in.Spec
	if err := spec.validate(in.Object.Metadata.Name); err != nil {
		return nil, err
	}
	me := claimantOf(in.Object)
	return &targetPlan{cfg: in.Config, spec: spec, me: me, ref: spec.AggregatorRef.resolve(me.Namespace), getenv: in.Getenv}, nil
}

// resolve fills in the aggregator's namespace.
func (r objectRef) resolve(namespace string) objectRef {
	r.Namespace = cmp.Or(r.Namespace, namespace)
	return r
}

func (r objectRef) String() string { return r.Namespace + "/" + r.Name }

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

func (s *targetSpec) serviceNamespace(own string) string {
	return cmp.Or(s.Service.Namespace, own)
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

// validate checks the spec against the same rules as the CRD.
func (s *targetSpec) validate(name string) error {
	var errs kratix.FieldErrors
	if !isDNSLabel(name) {
		errs.Add("metadata.name", "must be a DNS label (at most 63 lower-case letters, digits and '-'): it names the HTTPRoutes")
	}
	if !isDNSLabel(s.AggregatorRef.Name) {
		errs.Add("spec.aggregatorRef.name", "must be an ApiAggregator name (DNS label)")
	}
	if s.AggregatorRef.Namespace != "" && !isDNSLabel(s.AggregatorRef.Namespace) {
		errs.Add("spec.aggregatorRef.namespace", "must be a namespace name (DNS label)")
	}
	if !isDNS1035Label(s.Service.Name) {
		errs.Add("spec.service.name", "must be a Service name (lower-case letters, digits and '-', starting with a letter, at most 63)")
	}
	if s.Service.Namespace != "" && !isDNSLabel(s.Service.Namespace) {
		errs.Add("spec.service.namespace", "must be a namespace name (DNS label)")
	}
	if s.Service.Port < 1 || s.Service.Port > 65535 {
		errs.Add("spec.service.port", "must be between 1 and 65535")
	}
	switch {
	case len(s.Paths) == 0:
		errs.Add("spec.paths", "must list at least one path")
	case len(s.Paths) > maxPaths:
		errs.Add("spec.paths", fmt.Sprintf("must list at most %d paths", maxPaths))
	}
	seen := make(map[string]int, len(s.Paths))
	for i, p := range s.Paths {
		field := fmt.Sprintf("spec.paths[%d]", i)
		if why := checkPath(p.Prefix); why != "" {
			errs.Add(field+".prefix", why)
		} else if j, dup := seen[p.Prefix]; dup {
			errs.Add(field+".prefix", fmt.Sprintf("%q is already spec.paths[%d].prefix", p.Prefix, j))
		} else {
			seen[p.Prefix] = i
		}
		if p.Rewrite != "" {
			if why := checkPath(p.Rewrite); why != "" {
				errs.Add(field+".rewrite", why)
			}
		}
	}
	if t := s.Timeouts; t != nil {
		req, reqOK := parseGatewayDuration(t.Request)
		backend, backendOK := parseGatewayDuration(t.BackendRequest)
		const format = `must be a duration such as "30s", "1m30s" or "500ms" (at most four groups of up to five digits with h, m, s or ms)`
		if t.Request != "" && !reqOK {
			errs.Add("spec.timeouts.request", format)
		}
		if t.BackendRequest != "" && !backendOK {
			errs.Add("spec.timeouts.backendRequest", format)
		}
		if reqOK && backendOK && req != 0 && backend > req {
			errs.Add("spec.timeouts.backendRequest", "must not be longer than spec.timeouts.request")
		}
	}
	if s.MaxRequestBodySize != "" {
		if _, why := parseBodySize(s.MaxRequestBodySize); why != "" {
			errs.Add("spec.maxRequestBodySize", why)
		}
	}
	return errs.Err()
}

// routes lays out the prefixes in the team's order, sixteen rules to an
// HTTPRoute. The first route is named after the target, the others
// "<target>.2", "<target>.3", …: target names are DNS labels, so no other
// target's route can have a dotted name, and the first route keeps its name
// when a target grows past sixteen paths.
func (s *targetSpec) routes(me claimant, parent parentRef) []httpRoute {
	backend := backendRef{Kind: serviceKind, Name: s.Service.Name, Port: s.Service.Port}
	if ns := s.serviceNamespace(me.Namespace); ns != me.Namespace {
		backend.Namespace = ns
	}
	var timeouts *routeTimeouts
	if t := s.Timeouts; t != nil && (t.Request != "" || t.BackendRequest != "") {
		timeouts = t
	}
	parents := []parentReference{{Group: gatewayGroup, Kind: parent.Kind, Namespace: parent.Namespace, Name: parent.Name, SectionName: parent.SectionName}}
	labels := targetLabels(me, parent)

	var routes []httpRoute
	for i, p := range s.Paths {
		if i%maxRulesPerRoute == 0 {
			name := me.Name
			if n := i/maxRulesPerRoute + 1; n > 1 {
				name = fmt.Sprintf("%s.%d", me.Name, n)
			}
			routes = append(routes, httpRoute{
				APIVersion: httpRouteAPI,
				Kind:       httpRouteKind,
				Metadata:   objectMeta{Name: name, Namespace: me.Namespace, Labels: labels},
				Spec:       httpRouteSpec{ParentRefs: parents},
			})
		}
		rule := httpRouteRule{
			Matches:     []httpRouteMatch{{Path: pathMatch{Type: "PathPrefix", Value: p.Prefix}}},
			BackendRefs: []backendRef{backend},
			Timeouts:    timeouts,
		}
		if p.Rewrite != "" {
			rule.Filters = []httpRouteFilter{{
				Type:       "URLRewrite",
				URLRewrite: urlRewrite{Path: pathModifier{Type: "ReplacePrefixMatch", ReplacePrefixMatch: p.Rewrite}},
			}}
		}
		last := &routes[len(routes)-1].Spec
		last.Rules = append(last.Rules, rule)
	}
	return routes
}

// referenceGrant lets the target's routes reach a Service in another
// namespace; it is nil when the Service is in the target's own.
func (s *targetSpec) referenceGrant(me claimant, parent parentRef) *referenceGrant {
	ns := s.serviceNamespace(me.Namespace)
	if ns == me.Namespace {
		return nil
	}
	return &referenceGrant{
		APIVersion: grantAPI,
		Kind:       grantKind,
		// Named after the target's namespace too: one Service namespace
		// holds grants for targets of many namespaces.
		Metadata: objectMeta{Name: me.Namespace + "." + me.Name, Namespace: ns, Labels: targetLabels(me, parent)},
		Spec: referenceGrantSpec{
			From: []grantFrom{{Group: gatewayGroup, Kind: httpRouteKind, Namespace: me.Namespace}},
			To:   []grantTo{{Kind: serviceKind, Name: s.Service.Name}},
		},
	}
}

// targetLabels are the labels of everything a target's stage writes.
func targetLabels(me claimant, parent parentRef) map[string]string {
	return map[string]string{labelAggregator: parent.Name, labelTarget: me.Name}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
