// Package gatewaycheck checks rendered manifests the way a cluster would
// take them: Gateway API objects decode strictly into the Gateway API Go
// types (the pinned sigs.k8s.io/gateway-api), and every object validates
// against its real CustomResourceDefinition, OpenAPI schema and CEL rules,
// read from the Go module that ships it.
//
// The gateway implementations' CRDs come from their modules at exact
// versions that go.mod does not require (crdcheck downloads them into the
// module cache): Envoy Gateway's BackendTrafficPolicy and
// ClientTrafficPolicy, kgateway's TrafficPolicy and ListenerPolicy, and
// Traefik's Middleware. Their Go types are not linked (the modules are not
// in go.mod, and Traefik's would bring most of Traefik), so those kinds are
// checked against their CRDs only. Nothing is copied into this repository.
//
// It is for tests only: it links apiextensions-apiserver.
package gatewaycheck

import (
	"bytes"
	"encoding/json"
	"fmt"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"
	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/crdcheck"
	"github.com/promisekit/promisekit/pkg/kratix"
)

// Modules and versions the CRDs are read from.
const (
	GatewayAPIModule   = "sigs.k8s.io/gateway-api"
	EnvoyGatewayModule = "github.com/envoyproxy/gateway@v1.9.1"
	KGatewayModule     = "github.com/kgateway-dev/kgateway/v2@v2.2.0"
	TraefikModule      = "github.com/traefik/traefik/v3@v3.6.4"
)

// crd locates one CustomResourceDefinition in a module.
type crd struct {
	module, path string
	// decode strictly decodes an object into the kind's Go type; nil
	// where the Go type's module cannot be linked (it is not in go.mod).
	decode func(js []byte) error
}

// kinds maps "apiVersion kind" to where its CRD is.
var kinds = map[string]crd{
	"gateway.networking.k8s.io/v1 Gateway": {GatewayAPIModule, "config/crd/standard/gateway.networking.k8s.io_gateways.yaml",
		strictInto[gatewayv1.Gateway]},
	"gateway.networking.k8s.io/v1 ListenerSet": {GatewayAPIModule, "config/crd/standard/gateway.networking.k8s.io_listenersets.yaml",
		strictInto[gatewayv1.ListenerSet]},
	"gateway.networking.k8s.io/v1 HTTPRoute": {GatewayAPIModule, "config/crd/standard/gateway.networking.k8s.io_httproutes.yaml",
		strictInto[gatewayv1.HTTPRoute]},
	"gateway.networking.k8s.io/v1beta1 ReferenceGrant": {GatewayAPIModule, "config/crd/standard/gateway.networking.k8s.io_referencegrants.yaml",
		strictInto[gatewayv1beta1.ReferenceGrant]},
	"gateway.envoyproxy.io/v1alpha1 BackendTrafficPolicy": {EnvoyGatewayModule,
		"charts/gateway-helm/charts/crds/crds/generated/gateway.envoyproxy.io_backendtrafficpolicies.yaml", nil},
	"gateway.envoyproxy.io/v1alpha1 ClientTrafficPolicy": {EnvoyGatewayModule,
		"charts/gateway-helm/charts/crds/crds/generated/gateway.envoyproxy.io_clienttrafficpolicies.yaml", nil},
	"gateway.kgateway.dev/v1alpha1 TrafficPolicy": {KGatewayModule,
		"install/helm/kgateway-crds/templates/gateway.kgateway.dev_trafficpolicies.yaml", nil},
	"gateway.kgateway.dev/v1alpha1 ListenerPolicy": {KGatewayModule,
		"install/helm/kgateway-crds/templates/gateway.kgateway.dev_listenerpolicies.yaml", nil},
	"traefik.io/v1alpha1 Middleware": {TraefikModule,
		"docs/content/reference/dynamic-configuration/traefik.io_middlewares.yaml", nil},
}

// Checker validates rendered objects. Build one per test binary: compiling
// the CRDs' CEL rules takes a few hundred milliseconds.
type Checker struct {
	validators map[string]*crdcheck.Validator
}

// New reads and compiles every CRD.
func New() (*Checker, error) {
	c := &Checker{validators: map[string]*crdcheck.Validator{}}
	for key, k := range kinds {
		data, err := crdcheck.ModuleFile(k.module, k.path)
		if err != nil {
			return nil, fmt.Errorf("reading the CRD of %s: %w", key, err)
		}
		v, err := crdcheck.Load(data)
		if err != nil {
			return nil, fmt.Errorf("compiling the CRD of %s: %w", key, err)
		}
		c.validators[key] = v
	}
	return c, nil
}

// Check returns every problem with one object given as YAML or JSON: an
// unknown kind, a field the Go type does not have, or anything the API
// server would refuse. No problems means the object is valid.
func (c *Checker) Check(doc []byte) []string {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return []string{"<object>: " + err.Error()}
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := json.Unmarshal(js, &head); err != nil {
		return []string{"<object>: " + err.Error()}
	}
	key := head.APIVersion + " " + head.Kind
	v, ok := c.validators[key]
	if !ok {
		return []string{fmt.Sprintf("<object>: %s is not a kind this checker knows", key)}
	}
	var problems []string
	if decode := kinds[key].decode; decode != nil {
		if err := decode(js); err != nil {
			problems = append(problems, "strict decode into Go type: "+err.Error())
		}
	}
	return append(problems, v.Validate(js)...)
}

// strictInto decodes js into a T, refusing unknown and duplicate fields.
func strictInto[T any](js []byte) error {
	var v T
	return kratix.DecodeStrict(bytes.TrimSpace(js), &v, "")
}
