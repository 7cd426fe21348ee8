package apiaggregator

import "fmt"

// A target's stage builds its documents (HTTPRoutes, a ReferenceGrant, a
// request-body policy) from the structs below; ytt renders the
// aggregator's Gateway (docs/decisions.md says why).
//
// The structs mirror the JSON of the Gateway API and gateway-implementation
// types instead of importing them: sigs.k8s.io/gateway-api pulls in
// k8s.io/apimachinery. The tests decode every document strictly into the
// real Go types and validate it against the real CRDs, CEL rules included,
// and they render the ytt templates of bench/shell/templates to show both
// give the same documents.

// Gateway API coordinates of what the stage writes.
const (
	gatewayGroup   = "gateway.networking.k8s.io"
	httpRouteKind  = "HTTPRoute"
	serviceKind    = "Service"
	httpRouteAPI   = gatewayGroup + "/v1"
	grantAPI       = gatewayGroup + "/v1beta1"
	grantKind      = "ReferenceGrant"
	envoyPolicyAPI = "gateway.envoyproxy.io/v1alpha1"
	kgatewayAPI    = "gateway.kgateway.dev/v1alpha1"
)

type objectMeta struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels"`
}

type httpRoute struct {
	APIVersion string        `json:"apiVersion"`
	Kind       string        `json:"kind"`
	Metadata   objectMeta    `json:"metadata"`
	Spec       httpRouteSpec `json:"spec"`
}

type httpRouteSpec struct {
	ParentRefs []parentReference `json:"parentRefs"`
	Rules      []httpRouteRule   `json:"rules"`
}

type parentReference struct {
	Group       string `json:"group"`
	Kind        string `json:"kind"`
	Namespace   string `json:"namespace"`
	Name        string `json:"name"`
	SectionName string `json:"sectionName"`
}

type httpRouteRule struct {
	Matches     []httpRouteMatch  `json:"matches"`
	Filters     []httpRouteFilter `json:"filters,omitempty"`
	BackendRefs []backendRef      `json:"backendRefs"`
	Timeouts    *routeTimeouts    `json:"timeouts,omitempty"`
}

type httpRouteMatch struct {
	Path pathMatch `json:"path"`
}

type pathMatch struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

type httpRouteFilter struct {
	Type       string     `json:"type"`
	URLRewrite urlRewrite `json:"urlRewrite"`
}

type urlRewrite struct {
	Path pathModifier `json:"path"`
}

type pathModifier struct {
	Type               string `json:"type"`
	ReplacePrefixMatch string `json:"replacePrefixMatch"`
}

type backendRef struct {
	Group     string `json:"group"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	Port      int32  `json:"port"`
}

type referenceGrant struct {
	APIVersion string             `json:"apiVersion"`
	Kind       string             `json:"kind"`
	Metadata   objectMeta         `json:"metadata"`
	Spec       referenceGrantSpec `json:"spec"`
}

type referenceGrantSpec struct {
	From []grantFrom `json:"from"`
	To   []grantTo   `json:"to"`
}

type grantFrom struct {
	Group     string `json:"group"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
}

type grantTo struct {
	Group string `json:"group"`
	Kind  string `json:"kind"`
	Name  string `json:"name"`
}

// policyTarget is a Gateway API object in the policy's namespace.
type policyTarget struct {
	Group string `json:"group"`
	Kind  string `json:"kind"`
	Name  string `json:"name"`
}

// bodySizePolicy is the request-body limit of a gateway implementation:
// Envoy Gateway's BackendTrafficPolicy or kgateway's TrafficPolicy. Both
// answer 413 above the limit, and in both a policy on an HTTPRoute takes
// precedence over one on its Gateway.
type bodySizePolicy struct {
	APIVersion string           `json:"apiVersion"`
	Kind       string           `json:"kind"`
	Metadata   objectMeta       `json:"metadata"`
	Spec       bodySizeLimiting `json:"spec"`
}

type bodySizeLimiting struct {
	TargetRefs    []policyTarget      `json:"targetRefs"`
	RequestBuffer *envoyRequestBuffer `json:"requestBuffer,omitempty"` // Envoy Gateway
	Buffer        *kgatewayBuffer     `json:"buffer,omitempty"`        // kgateway
}

type envoyRequestBuffer struct {
	Limit string `json:"limit"`
}

type kgatewayBuffer struct {
	MaxRequestSize string `json:"maxRequestSize"`
}

// newBodySizePolicy returns the implementation's policy limiting request
// bodies to limit (a Kubernetes quantity) on targets.
func newBodySizePolicy(implementation string, meta objectMeta, targets []policyTarget, limit string) (*bodySizePolicy, error) {
	p := &bodySizePolicy{Metadata: meta, Spec: bodySizeLimiting{TargetRefs: targets}}
	switch implementation {
	case EnvoyGateway:
		p.APIVersion, p.Kind = envoyPolicyAPI, "BackendTrafficPolicy"
		p.Spec.RequestBuffer = &envoyRequestBuffer{Limit: limit}
	case KGateway:
		p.APIVersion, p.Kind = kgatewayAPI, "TrafficPolicy"
		p.Spec.Buffer = &kgatewayBuffer{MaxRequestSize: limit}
	default:
		return nil, fmt.Errorf("gateway implementation %q has no request-body policy", implementation)
	}
	return p, nil
}
