package apiaggregator

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/stage"
	"github.com/promisekit/promisekit/pkg/state"
)

// aggregatorSpec is an ApiAggregator's spec.
type aggregatorSpec struct {
	// Hostname is the public hostname every target's paths are served on.
	Hostname string `json:"hostname"`
	// TLS says where the certificate comes from; empty means the
	// platform's default cert-manager issuer.
	TLS aggregatorTLS `json:"tls,omitzero"`
	// RouteNamespaces are the namespaces whose targets may attach.
	RouteNamespaces routeNamespaces `json:"routeNamespaces"`
	// MaxRequestBodySize is the default request-body limit on the hostname.
	MaxRequestBodySize string `json:"maxRequestBodySize,omitempty"`
}

type aggregatorTLS struct {
	SecretName string     `json:"secretName,omitempty"`
	Issuer     *IssuerRef `json:"issuer,omitempty"`
}

// routeNamespaces selects namespaces by name, by label or both (all must
// match). Names are matched through the kubernetes.io/metadata.name label,
// which the API server sets on every namespace.
type routeNamespaces struct {
	Names       []string          `json:"names,omitempty"`
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
}

// admits reports whether targets in namespace may attach, as far as can be
// known without reading the namespace's labels.
func (r routeNamespaces) admits(namespace string) bool {
	return len(r.Names) == 0 || slices.Contains(r.Names, namespace)
}

// Listener names on every aggregator's Gateway.
const (
	listenerHTTP  = "http"
	listenerHTTPS = "https"
)

// aggregatorInput is what an aggregator's run decides from.
type aggregatorInput = stage.Input[aggregatorSpec, Config, aggregatorState]

// aggregatorState is what an aggregator publishes in its status for its
// targets' stages, which run in the teams' namespaces where the platform
// configuration is not mounted: where to attach, which implementation
// renders policies, and which destination to land on.
type aggregatorState struct {
	Hostname            string            `json:"hostname"`
	Parent              parentRef         `json:"parent"`
	Implementation      string            `json:"implementation"`
	RouteNamespaces     routeNamespaces   `json:"routeNamespaces,omitzero"`
	DestinationSelector map[string]string `json:"destinationSelector,omitempty"`
	MaxRequestBodySize  string            `json:"maxRequestBodySize,omitempty"`
	// CrossNamespaceBackends is Config.CrossNamespaceBackends.
	CrossNamespaceBackends bool `json:"crossNamespaceBackends,omitempty"`
}

// parentRef is the listener, of a Gateway or of a ListenerSet, that
// targets' HTTPRoutes attach to.
type parentRef struct {
	Kind        string `json:"kind"`
	Namespace   string `json:"namespace"`
	Name        string `json:"name"`
	SectionName string `json:"sectionName"`
}

func (p parentRef) String() string { return p.Kind + " " + p.Namespace + "/" + p.Name }

var aggregatorStatus = state.Codec[aggregatorState]{Key: "apiAggregator", Version: 1}

// decideAggregator is the aggregator's whole run: rendering its Gateway
// needs nothing from outside, so the plan is its result.
func decideAggregator(in *aggregatorInput) (stage.Plan[Outside], error) {
	cfg, spec := *in.Config, in.Spec
	if err := spec.validate(cfg); err != nil {
		return nil, err
	}
	var err error
	name, namespace := in.Object.Metadata.Name, in.Namespace
	if !isDNSLabel(name) {
		return nil, &kratix.FieldError{Field: "metadata.name", Detail: "must be a DNS label (at most 63 lower-case letters, digits and '-'): it names the Gateway"}
	}
	parent := aggregatorParent(cfg, name, namespace)
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
	if err := aggregatorStatus.Store(res, published); err != nil {
		return nil, err
	}
	res.Message = fmt.Sprintf("%s serves https://%s (%s, certificate from %s)", parent, spec.Hostname, gatewayDesc, certSource)
	return stage.Done[Outside]{Result: res}, nil
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

// validate checks the spec against the same rules as the CRD, and against
// the platform configuration.
func (s *aggregatorSpec) validate(cfg Config) error {
	var errs kratix.FieldErrors
	if why := checkHostname(s.Hostname); why != "" {
		errs.Add("spec.hostname", why)
	}
	switch {
	case s.TLS.SecretName != "" && s.TLS.Issuer != nil:
		errs.Add("spec.tls", "set secretName or issuer, not both")
	case s.TLS.SecretName != "":
		if !isDNSSubdomain(s.TLS.SecretName) {
			errs.Add("spec.tls.secretName", "must be a Secret name (DNS subdomain)")
		}
	case s.TLS.Issuer != nil:
		validateIssuer(&errs, "spec.tls.issuer", *s.TLS.Issuer, false)
	case cfg.CertManager.Name == "":
		errs.Add("spec.tls", "the platform configures no default cert-manager issuer: set spec.tls.secretName or spec.tls.issuer")
	}
	rn := s.RouteNamespaces
	if len(rn.Names) == 0 && len(rn.MatchLabels) == 0 {
		errs.Add("spec.routeNamespaces", "set names, matchLabels or both")
	}
	if len(rn.Names) > maxRouteNamespaces {
		errs.Add("spec.routeNamespaces.names", fmt.Sprintf("must have at most %d entries", maxRouteNamespaces))
	}
	for i, n := range rn.Names {
		field := fmt.Sprintf("spec.routeNamespaces.names[%d]", i)
		if !isDNSLabel(n) {
			errs.Add(field, "must be a namespace name (DNS label)")
		} else if slices.Index(rn.Names, n) != i {
			errs.Add(field, fmt.Sprintf("%q appears twice", n))
		}
	}
	if len(rn.MatchLabels) > maxRouteLabels {
		errs.Add("spec.routeNamespaces.matchLabels", fmt.Sprintf("must have at most %d labels", maxRouteLabels))
	}
	validateLabels(&errs, "spec.routeNamespaces.matchLabels", rn.MatchLabels)
	if s.MaxRequestBodySize != "" {
		if _, why := parseBodySize(s.MaxRequestBodySize); why != "" {
			errs.Add("spec.maxRequestBodySize", why)
		} else if cfg.Implementation == NoImplementation {
			errs.Add("spec.maxRequestBodySize", "the platform's gateway implementation has no request-body limit; leave it unset")
		}
	}
	return errs.Err()
}

// Bounds of routeNamespaces, as in the CRD.
const (
	maxRouteNamespaces = 64
	maxRouteLabels     = 16
)

// issuerAnnotation is cert-manager's gateway-shim annotation for an issuer kind.
func issuerAnnotation(kind string) string {
	if kind == "Issuer" {
		return "cert-manager.io/issuer"
	}
	return "cert-manager.io/cluster-issuer"
}
