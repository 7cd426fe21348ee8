package apiaggregator

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/promisekit/promisekit/pkg/k8sname"
	"github.com/promisekit/promisekit/pkg/kratix"
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
	// ClientIP says how the gateway finds the client's address behind the
	// load balancers in front of it.
	ClientIP *clientIP `json:"clientIP,omitempty"`
}

// clientIP is how the client's address is read from X-Forwarded-For: the
// entry that many trusted hops from the right, or the first from the right
// that is not in the trusted proxies' CIDRs. Exactly one is set.
type clientIP struct {
	TrustedHops  *int32   `json:"trustedHops,omitempty"`
	TrustedCIDRs []string `json:"trustedCIDRs,omitempty"`
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
		if !k8sname.IsDNSLabel(n) {
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
		} else if cfg.Implementation == Traefik && cfg.PlatformAPI == APIOff {
			// Traefik has no limit for a whole Gateway: each target
			// applies its aggregator's, read from the platform API.
			errs.Add("spec.maxRequestBodySize", "with Traefik, an aggregator's limit is applied by each target, which reads it from the platform API, and the platform API is off; set maxRequestBodySize on each target instead")
		}
	}
	if c := s.ClientIP; c != nil {
		validateClientIP(&errs, *c, cfg)
	}
	return errs.Err()
}

// Bounds of clientIP, as in the CRD.
const (
	maxTrustedHops  = 32
	maxTrustedCIDRs = 16
)

// validateClientIP checks spec.clientIP, and that the platform's gateway
// implementation can apply it to this aggregator alone.
func validateClientIP(errs *kratix.FieldErrors, c clientIP, cfg Config) {
	switch hops := c.TrustedHops; {
	case hops != nil && c.TrustedCIDRs != nil:
		errs.Add("spec.clientIP", "set trustedHops or trustedCIDRs, not both")
	case hops == nil && c.TrustedCIDRs == nil:
		errs.Add("spec.clientIP", "set trustedHops or trustedCIDRs")
	case hops != nil && (*hops < 1 || *hops > maxTrustedHops):
		errs.Add("spec.clientIP.trustedHops", fmt.Sprintf("must be between 1 and %d", maxTrustedHops))
	case c.TrustedCIDRs != nil && len(c.TrustedCIDRs) == 0:
		errs.Add("spec.clientIP.trustedCIDRs", "must list at least one CIDR")
	case len(c.TrustedCIDRs) > maxTrustedCIDRs:
		errs.Add("spec.clientIP.trustedCIDRs", fmt.Sprintf("must list at most %d CIDRs", maxTrustedCIDRs))
	}
	for i, cidr := range c.TrustedCIDRs {
		if why := checkCIDR(cidr); why != "" {
			errs.Add(fmt.Sprintf("spec.clientIP.trustedCIDRs[%d]", i), why)
		} else if slices.Index(c.TrustedCIDRs, cidr) != i {
			errs.Add(fmt.Sprintf("spec.clientIP.trustedCIDRs[%d]", i), fmt.Sprintf("%q appears twice", cidr))
		}
	}
	switch cfg.Implementation {
	case EnvoyGateway:
		// A ClientTrafficPolicy on the Gateway or the ListenerSet.
	case KGateway:
		if len(c.TrustedCIDRs) > 0 {
			errs.Add("spec.clientIP.trustedCIDRs", "kgateway counts trusted hops only; use spec.clientIP.trustedHops")
		}
		if cfg.SharedGateway != nil {
			errs.Add("spec.clientIP", "kgateway sets client-IP detection for a whole Gateway, and this aggregator shares the platform's: ask the platform team, and leave spec.clientIP unset")
		}
	case Traefik:
		errs.Add("spec.clientIP", "Traefik trusts proxies per entry point, for every Gateway at once (forwardedHeaders.trustedIPs in its static configuration): ask the platform team, and leave spec.clientIP unset")
	default:
		errs.Add("spec.clientIP", "the platform's gateway implementation is not one this promise configures; leave spec.clientIP unset")
	}
}

// Bounds of routeNamespaces, as in the CRD.
const (
	maxRouteNamespaces = 64
	maxRouteLabels     = 16
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

// resolve fills in the aggregator's namespace.
func (r objectRef) resolve(namespace string) objectRef {
	r.Namespace = cmp.Or(r.Namespace, namespace)
	return r
}

func (r objectRef) String() string { return r.Namespace + "/" + r.Name }

func (s *targetSpec) serviceNamespace(own string) string {
	return cmp.Or(s.Service.Namespace, own)
}

// validate checks the spec against the same rules as the CRD.
func (s *targetSpec) validate(name string) error {
	var errs kratix.FieldErrors
	if !k8sname.IsDNSLabel(name) {
		errs.Add("metadata.name", "must be a DNS label (at most 63 lower-case letters, digits and '-'): it names the HTTPRoutes")
	}
	if !k8sname.IsDNSLabel(s.AggregatorRef.Name) {
		errs.Add("spec.aggregatorRef.name", "must be an ApiAggregator name (DNS label)")
	}
	if s.AggregatorRef.Namespace != "" && !k8sname.IsDNSLabel(s.AggregatorRef.Namespace) {
		errs.Add("spec.aggregatorRef.namespace", "must be a namespace name (DNS label)")
	}
	if !k8sname.IsDNS1035Label(s.Service.Name) {
		errs.Add("spec.service.name", "must be a Service name (lower-case letters, digits and '-', starting with a letter, at most 63)")
	}
	if s.Service.Namespace != "" && !k8sname.IsDNSLabel(s.Service.Namespace) {
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
