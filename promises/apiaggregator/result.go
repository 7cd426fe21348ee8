package apiaggregator

import (
	"fmt"
	"strings"

	"github.com/promisekit/promisekit/pkg/kratix"
)

// result is a target's documents, status and message, once its aggregator
// is known and its prefixes are checked.
func (p *targetPlan) result(agg aggregatorState, conflictCheck string) (*kratix.Result, error) {
	routes := p.spec.routeLayout(p.me.Name)
	values := targetValues{
		Name:      p.me.Name,
		Namespace: p.me.Namespace,
		Labels:    targetLabels(p.me, agg.Parent),
		Parent:    agg.Parent,
		Backend:   backendValues{Name: p.spec.Service.Name, Port: p.spec.Service.Port},
		Routes:    routes,
	}
	if ns := p.spec.serviceNamespace(p.me.Namespace); ns != p.me.Namespace {
		values.Backend.Namespace = ns
		values.ReferenceGrant = &referenceGrant{Namespace: ns}
	}
	if t := p.spec.Timeouts; t != nil && (t.Request != "" || t.BackendRequest != "") {
		values.Timeouts = t
	}
	var err error
	if values.BodySize, err = bodySizeOf("spec.maxRequestBodySize", p.spec.MaxRequestBodySize); err != nil {
		return nil, err
	}
	if values.BodySize == nil {
		// The aggregator's limit, for implementations that apply it on
		// each route; its status is read again, not trusted.
		if values.BodySize, err = bodySizeOf("status."+aggregatorStateCodec.Key+".maxRequestBodySize", agg.MaxRequestBodySize); err != nil {
			return nil, err
		}
		if values.BodySize != nil {
			values.BodySize.Inherited = true
		}
	}
	docs, err := renderStage(targetTemplates, agg.Implementation, &values)
	if err != nil {
		return nil, err
	}

	res := &kratix.Result{}
	for _, d := range docs {
		res.Documents = append(res.Documents, kratix.Document{Object: d})
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
	routeNames := make([]string, len(routes))
	for i, r := range routes {
		routeNames[i] = r.Name
	}
	err = targetStateCodec.Store(res, targetState{
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
	parent := aggregatorParent(cfg, name, p.namespace)
	certSecret, annotations, certSource := spec.certificate(name, cfg.CertManager)
	values := aggregatorValues{
		Name:              name,
		Namespace:         parent.Namespace,
		SharedGateway:     cfg.SharedGateway,
		Hostname:          spec.Hostname,
		Labels:            map[string]string{labelAggregator: name},
		Annotations:       annotations,
		CertificateSecret: certSecret,
		ListenerHTTP:      listenerHTTP,
		ListenerHTTPS:     listenerHTTPS,
		RouteNamespaces:   spec.RouteNamespaces,
		PolicyTarget:      policyTarget{Kind: parent.Kind, Name: parent.Name},
		ClientIP:          spec.ClientIP,
	}
	gatewayDesc := "class " + cfg.GatewayClassName
	if shared := cfg.SharedGateway; shared != nil {
		gatewayDesc = "shared Gateway " + shared.Namespace + "/" + shared.Name
	} else {
		values.GatewayClassName = cfg.GatewayClassName
	}
	var err error
	if values.BodySize, err = bodySizeOf("spec.maxRequestBodySize", spec.MaxRequestBodySize); err != nil {
		return nil, err
	}
	docs, err := renderStage(aggregatorTemplates, cfg.Implementation, &values)
	if err != nil {
		return nil, err
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
