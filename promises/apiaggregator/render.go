package apiaggregator

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"

	"github.com/promisekit/promisekit/pkg/render"
)

// templates holds one ytt template set per directory, each with its own
// data-values schema. They are parsed on use, not at start-up: a stage
// renders one or two sets and exits.
//
//go:embed templates
var templates embed.FS

// Template sets.
const (
	templateGateway     = "templates/gateway"
	templateListenerSet = "templates/listenerset"
	templateRoutes      = "templates/routes"
	// templatePolicies holds one set per gateway implementation, named
	// as Config.Implementation names it.
	templatePolicies = "templates/policies"
)

// renderSet renders the template set in dir with values.
//
// Optional values are left out (omitempty) rather than passed as null: the
// data values are parsed as strict YAML, where a bare null is ambiguous, and
// the schema's nullable default stands in for them.
func renderSet(dir string, values any) ([]json.RawMessage, error) {
	t, err := render.Load(templates, dir)
	if err != nil {
		return nil, err
	}
	docs, err := t.Render(values)
	if err != nil {
		return nil, fmt.Errorf("template set %s: %w", path.Base(dir), err)
	}
	return docs, nil
}

// gatewayValues are the data values of the gateway template set.
type gatewayValues struct {
	Name              string            `json:"name"`
	Namespace         string            `json:"namespace"`
	GatewayClassName  string            `json:"gatewayClassName"`
	Hostname          string            `json:"hostname"`
	Labels            map[string]string `json:"labels"`
	Annotations       map[string]string `json:"annotations,omitempty"`
	CertificateSecret string            `json:"certificateSecret"`
	ListenerHTTP      string            `json:"listenerHTTP"`
	ListenerHTTPS     string            `json:"listenerHTTPS"`
	RouteNamespaces   routeNamespaces   `json:"routeNamespaces"`
}

// listenerSetValues are the data values of the listenerset template set.
type listenerSetValues struct {
	Name              string            `json:"name"`
	Namespace         string            `json:"namespace"`
	Parent            GatewayRef        `json:"parent"`
	Hostname          string            `json:"hostname"`
	Labels            map[string]string `json:"labels"`
	Annotations       map[string]string `json:"annotations,omitempty"`
	CertificateSecret string            `json:"certificateSecret"`
	ListenerHTTP      string            `json:"listenerHTTP"`
	ListenerHTTPS     string            `json:"listenerHTTPS"`
	RouteNamespaces   routeNamespaces   `json:"routeNamespaces"`
}

// routesValues are the data values of the routes template set.
type routesValues struct {
	Namespace      string                `json:"namespace"`
	Labels         map[string]string     `json:"labels"`
	Parent         parentRef             `json:"parent"`
	Backend        backendValues         `json:"backend"`
	Timeouts       *timeoutValues        `json:"timeouts,omitempty"`
	Routes         []routeValues         `json:"routes"`
	ReferenceGrant *referenceGrantValues `json:"referenceGrant,omitempty"`
}

type backendValues struct {
	Name      string  `json:"name"`
	Namespace *string `json:"namespace,omitempty"`
	Port      int32   `json:"port"`
}

type timeoutValues struct {
	Request        *string `json:"request,omitempty"`
	BackendRequest *string `json:"backendRequest,omitempty"`
}

type routeValues struct {
	Name  string       `json:"name"`
	Rules []ruleValues `json:"rules"`
}

type ruleValues struct {
	Prefix  string  `json:"prefix"`
	Rewrite *string `json:"rewrite,omitempty"`
}

type referenceGrantValues struct {
	Name          string `json:"name"`
	Namespace     string `json:"namespace"`
	FromNamespace string `json:"fromNamespace"`
	ServiceName   string `json:"serviceName"`
}

// policyValues are the data values of every body-size policy template set.
type policyValues struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels"`
	Targets   []policyTarget    `json:"targets"`
	Limit     string            `json:"limit"`
}

// policyTarget is a Gateway API object in the policy's namespace.
type policyTarget struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// renderBodySizePolicy renders the request-body limit for the gateway
// implementation. The caller has refused a limit when there is none.
func renderBodySizePolicy(implementation string, v policyValues) ([]json.RawMessage, error) {
	switch implementation {
	case EnvoyGateway, KGateway:
		return renderSet(path.Join(templatePolicies, implementation), v)
	}
	return nil, fmt.Errorf("no request-body policy template for gateway implementation %q", implementation)
}
