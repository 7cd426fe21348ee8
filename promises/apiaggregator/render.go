package apiaggregator

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/render"
)

// templates holds every document both stages write, as ytt templates:
//
//	templates/aggregator/    an aggregator's Gateway (gateway.yml) or ListenerSet on a shared
//	                         Gateway (listenerset.yml), with the HTTPS redirect
//	templates/target/        a target's HTTPRoutes, and its ReferenceGrant (referenceGrant/)
//	templates/implementations/<name>/<stage>/
//	                         what a gateway implementation adds: request-body limits
//	                         (bodySize/), client-IP detection (clientIP/), overlays on the routes
//
// Each stage's schema.yml declares its data values, and the values types
// below must agree with it.
//
// A run renders only the parts of a stage's templates that the request
// uses: for each part, templates/<stage>/<part> and
// templates/implementations/<name>/<stage>/<part> where they exist, all in
// one ytt run, so that an implementation's overlays reach the stage's
// documents (Traefik's Middleware is referenced from every route rule)
// while the route templates know nothing about implementations. A part is
// a file, or a directory named after the optional data value it renders.
// Leaving out what a request does not use is most of what keeps a stage
// fast: ytt parses every template of a run three times (docs/decisions.md).
// The templates are parsed on use, not at start-up.
//
//go:embed templates
var templates embed.FS

// Stages' template directories, under templates/ and under each
// templates/implementations/<name>/.
const (
	aggregatorTemplates = "aggregator"
	targetTemplates     = "target"
)

// Parts of the templates; a directory part is named after its data value.
const (
	partSchema         = "schema.yml"
	partGateway        = "gateway.yml"
	partListenerSet    = "listenerset.yml"
	partHTTPRoutes     = "httproutes.yml"
	partReferenceGrant = "referenceGrant"
	partBodySize       = "bodySize"
	partClientIP       = "clientIP"
)

// stageValues are a stage's data values, which say which parts of its
// templates they use.
type stageValues interface {
	parts() []string
}

// renderStage renders the parts of a stage's templates, and of its gateway
// implementation's, that values use.
//
// Optional values are left out (omitempty) rather than passed as null: the
// schema's nullable default stands in for them.
func renderStage(stageDir, implementation string, values stageValues) ([]json.RawMessage, error) {
	parts := values.parts()
	paths := make([]string, 0, 2*len(parts))
	for _, part := range parts {
		paths = append(paths,
			path.Join("templates", stageDir, part),
			path.Join("templates", "implementations", implementation, stageDir, part))
	}
	t, err := render.LoadSets(templates, paths...)
	if err != nil {
		return nil, err
	}
	docs, err := t.Render(values)
	if err != nil {
		return nil, fmt.Errorf("rendering the %s templates (implementation %s): %w", stageDir, implementation, err)
	}
	return docs, nil
}

// aggregatorValues are the data values of templates/aggregator/schema.yml.
type aggregatorValues struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	// Exactly one of GatewayClassName (a Gateway of its own) and
	// SharedGateway (a ListenerSet on the platform's Gateway) is set.
	GatewayClassName  string            `json:"gatewayClassName,omitempty"`
	SharedGateway     *GatewayRef       `json:"sharedGateway,omitempty"`
	Hostname          string            `json:"hostname"`
	Labels            map[string]string `json:"labels"`
	Annotations       map[string]string `json:"annotations,omitempty"`
	CertificateSecret string            `json:"certificateSecret"`
	ListenerHTTP      string            `json:"listenerHTTP"`
	ListenerHTTPS     string            `json:"listenerHTTPS"`
	RouteNamespaces   routeNamespaces   `json:"routeNamespaces"`
	PolicyTarget      policyTarget      `json:"policyTarget"`
	BodySize          *bodySize         `json:"bodySize,omitempty"`
	ClientIP          *clientIP         `json:"clientIP,omitempty"`
}

func (v *aggregatorValues) parts() []string {
	parts := []string{partSchema, partGateway}
	if v.SharedGateway != nil {
		parts[1] = partListenerSet
	}
	if v.BodySize != nil {
		parts = append(parts, partBodySize)
	}
	if v.ClientIP != nil {
		parts = append(parts, partClientIP)
	}
	return parts
}

// policyTarget is the Gateway or ListenerSet an aggregator's policies
// attach to, in the aggregator's gateway namespace.
type policyTarget struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// bodySize is a request-body limit as the request gave it (a Kubernetes
// quantity, for implementations that take one) and in bytes (for those
// that do not). Inherited marks a target's limit that is its aggregator's,
// which implementations with a policy for a whole Gateway already apply.
type bodySize struct {
	Limit     string `json:"limit"`
	Bytes     int64  `json:"bytes"`
	Inherited bool   `json:"inherited,omitempty"`
}

// bodySizeOf returns the values of the limit in field, or nil for none.
// The limit may come from another request's status (an aggregator's
// default, read by its targets), so it is checked again here.
func bodySizeOf(field, limit string) (*bodySize, error) {
	if limit == "" {
		return nil, nil
	}
	n, why := parseBodySize(limit)
	if why != "" {
		return nil, &kratix.FieldError{Field: field, Detail: why}
	}
	return &bodySize{Limit: limit, Bytes: n}, nil
}

// targetValues are the data values of templates/target/schema.yml.
type targetValues struct {
	Name           string            `json:"name"`
	Namespace      string            `json:"namespace"`
	Labels         map[string]string `json:"labels"`
	Parent         parentRef         `json:"parent"`
	Backend        backendValues     `json:"backend"`
	Timeouts       *routeTimeouts    `json:"timeouts,omitempty"`
	Routes         []routeValues     `json:"routes"`
	ReferenceGrant *referenceGrant   `json:"referenceGrant,omitempty"`
	BodySize       *bodySize         `json:"bodySize,omitempty"`
}

func (v *targetValues) parts() []string {
	parts := []string{partSchema, partHTTPRoutes}
	if v.ReferenceGrant != nil {
		parts = append(parts, partReferenceGrant)
	}
	if v.BodySize != nil {
		parts = append(parts, partBodySize)
	}
	return parts
}

// referenceGrant is where a target's ReferenceGrant lives: the namespace
// of its Service, when that is not the target's own.
type referenceGrant struct {
	Namespace string `json:"namespace"`
}

// backendValues is the Service every path goes to; Namespace is set only
// when it is not the target's own.
type backendValues struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	Port      int32  `json:"port"`
}

// routeValues is one HTTPRoute: its name and its rules' paths.
type routeValues struct {
	Name  string     `json:"name"`
	Rules []pathRule `json:"rules"`
}

// routeLayout lays out the prefixes in the team's order, sixteen rules to
// an HTTPRoute. The first route is named after the target, the others
// "<target>.2", "<target>.3", …: target names are DNS labels, so no other
// target's route can have a dotted name, and the first route keeps its name
// when a target grows past sixteen paths. The layout is Go's, not the
// templates': the names are the routes' identity in the cluster, which the
// status reports and Kratix tracks from run to run.
func (s *targetSpec) routeLayout(target string) []routeValues {
	routes := make([]routeValues, 0, (len(s.Paths)+maxRulesPerRoute-1)/maxRulesPerRoute)
	for i := 0; i < len(s.Paths); i += maxRulesPerRoute {
		name := target
		if n := i/maxRulesPerRoute + 1; n > 1 {
			name = fmt.Sprintf("%s.%d", target, n)
		}
		routes = append(routes, routeValues{Name: name, Rules: s.Paths[i:min(i+maxRulesPerRoute, len(s.Paths))]})
	}
	return routes
}
