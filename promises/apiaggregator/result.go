package apiaggregator

import (
	"encoding/json"
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
	err := targetStateCodec.Store(res, targetState{
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

// Listener names on every aggregator's Gateway.
const (
	listenerHTTP  = "http"
	listenerHTTPS = "https"
)

// result renders the aggregator's documents and the settings it publishes
// for its targets.
func (p *aggregatorPlan) result() (*kratix.Result, error) {
	cfg, spec, name := *p.cfg, p.spec, p.name
	var err error
	parent := aggregatorParent(cfg, name, p.namespace)
	labels := map[string]string{labelAggregator: name}
	certSecret, annotations, certSource := spec.certificate(name, cfg.CertManager)

	var docs []json.RawMessage
	gatewayDesc := ""
	if shared := cfg.SharedGateway; shared != nil {
		docs, err = renderSet(templateListenerSet, listenerSetValues{
			Name:              name,
			Namespace:         parent.Namespace,
			Parent:            *shared,
			Hostname:          spec.Hostname,
			Labels:            labels,
			Annotations:       annotations,
			CertificateSecret: certSecret,
			ListenerHTTP:      listenerHTTP,
			ListenerHTTPS:     listenerHTTPS,
			RouteNamespaces:   spec.RouteNamespaces,
		})
		gatewayDesc = "shared Gateway " + shared.Namespace + "/" + shared.Name
	} else {
		docs, err = renderSet(templateGateway, gatewayValues{
			Name:              name,
			Namespace:         parent.Namespace,
			GatewayClassName:  cfg.GatewayClassName,
			Hostname:          spec.Hostname,
			Labels:            labels,
			Annotations:       annotations,
			CertificateSecret: certSecret,
			ListenerHTTP:      listenerHTTP,
			ListenerHTTPS:     listenerHTTPS,
			RouteNamespaces:   spec.RouteNamespaces,
		})
		gatewayDesc = "class " + cfg.GatewayClassName
	}
	if err != nil {
		return nil, err
	}
	if spec.MaxRequestBodySize != "" {
		meta := objectMeta{Name: name, Namespace: parent.Namespace, Labels: labels}
		targets := []policyTarget{{Group: gatewayGroup, Kind: parent.Kind, Name: parent.Name}}
		policy, err := newBodySizePolicy(cfg.Implementation, meta, targets, spec.MaxRequestBodySize)
		if err != nil {
			return nil, err
		}
		policyDoc, err := json.Marshal(policy)
		if err != nil {
			return nil, fmt.Errorf("encoding the request-body policy: %w", err)
		}
		docs = append(docs, policyDoc)
	}

	res := &kratix.Result{}
	for _, d := range docs {
		res.Documents = append(res.Documents, kratix.Document{Object: d})
	}
	if len(cfg.DestinationSelector) > 0 {
		res.DestinationSelectors = []kratix.DestinationSelector{{MatchLabels: cfg.DestinationSelector}}
	}
	published := aggregatorState{
		Hostname:               spec.Hostname,
		Parent:                 parent,
		Implementation:         cfg.Implementation,
		RouteNamespaces:        spec.RouteNamespaces,
		DestinationSelector:    cfg.DestinationSelector,
		MaxRequestBodySize:     spec.MaxRequestBodySize,
		CrossNamespaceBackends: cfg.CrossNamespaceBackends,
	}
	if err := aggregatorStateCodec.Store(res, published); err != nil {
		return nil, err
	}
	res.Message = fmt.Sprintf("%s serves https://%s (%s, certificate from %s)", parent, spec.Hostname, gatewayDesc, certSource)
	return res, nil
}

// certificate returns the Secret the HTTPS listener serves, the annotations
// that make cert-manager issue it (none for a Secret the platform team
// provides), and where the certificate comes from, for the status message.
func (s *aggregatorSpec) certificate(name string, platform IssuerRef) (secret string, annotations map[string]string, source string) {
	if s.TLS.SecretName != "" {
		return s.TLS.SecretName, nil, "Secret " + s.TLS.SecretName
	}
	issuer := platform
	if s.TLS.Issuer != nil {
		issuer = *s.TLS.Issuer
	}
	return name + "-tls", map[string]string{issuerAnnotation(issuer.Kind): issuer.Name}, issuer.Kind + " " + issuer.Name
}

// issuerAnnotation is cert-manager's gateway-shim annotation for an issuer kind.
func issuerAnnotation(kind string) string {
	if kind == "Issuer" {
		return "cert-manager.io/issuer"
	}
	return "cert-manager.io/cluster-issuer"
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
