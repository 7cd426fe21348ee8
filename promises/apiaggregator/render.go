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
