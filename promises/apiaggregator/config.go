package apiaggregator

import (
	"fmt"
	"slices"
	"time"

	"github.com/promisekit/promisekit/pkg/k8sname"
	"github.com/promisekit/promisekit/pkg/platformconfig"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/stage"
)

// Gateway implementations whose policies can be rendered: each is a
// directory of templates/implementations.
const (
	EnvoyGateway = "envoy-gateway"
	KGateway     = "kgateway"
	Traefik      = "traefik"
	// NoImplementation renders no policy: a request that asks for a
	// request-body limit or client-IP detection is refused rather than
	// silently not given it.
	NoImplementation = "none"
)

var implementations = []string{EnvoyGateway, KGateway, Traefik, NoImplementation}

// Platform API modes.
const (
	// APIAuto reads the aggregator and sibling targets from the platform
	// API the binary's main chose (the cluster's, or the local runner's).
	APIAuto = "auto"
	// APIOff reads nothing: a target takes its aggregator's settings from
	// this configuration and its prefixes are not checked against others.
	APIOff = "off"
)

// Config is the platform configuration, the same file for both Promises.
// Teams never set it: it comes from a ConfigMap in the pipeline's namespace.
type Config struct {
	// Kratix is what the installed Kratix honours (workflow control).
	stage.Kratix `json:"kratix,omitempty"`
	// PlatformOverlays is `overlays:`, the platform's ytt overlays over every document.
	stage.PlatformOverlays
	// Timeout bounds the whole run (a Go duration; 1m by default).
	Timeout platformconfig.Duration `json:"timeout,omitempty"`
	// PlatformAPITimeout bounds each call to the platform's API server
	// (15s by default).
	PlatformAPITimeout platformconfig.Duration `json:"platformAPITimeout,omitempty"`
	// GatewayClassName is the GatewayClass of every aggregator's Gateway.
	GatewayClassName string `json:"gatewayClassName,omitempty"`
	// GatewayNamespace is where Gateways (or ListenerSets) are created;
	// "" means the ApiAggregator's own namespace.
	GatewayNamespace string `json:"gatewayNamespace,omitempty"`
	// SharedGateway, when set, is an existing Gateway that every
	// aggregator joins with a ListenerSet instead of getting a Gateway of
	// its own. The Gateway must allow ListenerSets from GatewayNamespace
	// (spec.allowedListeners).
	SharedGateway *GatewayRef `json:"sharedGateway,omitempty"`
	// Implementation is the gateway implementation behind the class, which
	// decides how request-body limits and client-IP detection are
	// rendered.
	Implementation string `json:"implementation,omitempty"`
	// CertManager is the issuer used when an aggregator names neither a
	// Secret nor an issuer of its own.
	CertManager IssuerRef `json:"certManager,omitempty"`
	// DestinationSelector sends aggregators (and so their targets) to the
	// destinations with these labels; empty leaves it to the Promise.
	DestinationSelector map[string]string `json:"destinationSelector,omitempty"`
	// PlatformAPI is APIAuto or APIOff.
	PlatformAPI string `json:"platformAPI,omitempty"`
	// CrossNamespaceBackends lets a target send traffic to a Service in
	// another namespace, granted with a ReferenceGrant there. Off by
	// default: the grant is written by the platform, not by the owner of
	// that namespace.
	CrossNamespaceBackends bool `json:"crossNamespaceBackends,omitempty"`
}

// GatewayRef names a Gateway.
type GatewayRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// IssuerRef names a cert-manager issuer.
type IssuerRef struct {
	Kind string `json:"kind,omitempty"` // ClusterIssuer or Issuer
	Name string `json:"name,omitempty"`
}

// defaultConfig is what runs when no file is mounted: Envoy Gateway's
// quick-start class, no issuer (an aggregator must then name its Secret),
// and sibling checks on.
func defaultConfig() *Config {
	return &Config{
		GatewayClassName: "eg",
		Implementation:   EnvoyGateway,
		CertManager:      IssuerRef{Kind: "ClusterIssuer"},
		PlatformAPI:      APIAuto,
	}
}

// configFile is how both stages read the platform configuration.
var configFile = stage.ConfigFile[Config]{Default: defaultConfig, Validate: (*Config).validate}

// Time limits unless the configuration says otherwise.
const (
	defaultTimeout            = time.Minute
	defaultPlatformAPITimeout = 15 * time.Second
)

// deadline is the whole run's time limit.
func (c *Config) deadline() time.Duration { return c.Timeout.Or(defaultTimeout) }

func (c *Config) validate() error {
	var errs kratix.FieldErrors
	if err := c.Timeout.Check(); err != nil {
		errs.Add("config.timeout", err.Error())
	}
	if err := c.PlatformAPITimeout.Check(); err != nil {
		errs.Add("config.platformAPITimeout", err.Error())
	}
	if c.GatewayClassName == "" {
		errs.Add("config.gatewayClassName", "must not be empty")
	} else if !isDNSSubdomain(c.GatewayClassName) {
		errs.Add("config.gatewayClassName", "must be a DNS subdomain name")
	}
	if c.GatewayNamespace != "" && !k8sname.IsDNSLabel(c.GatewayNamespace) {
		errs.Add("config.gatewayNamespace", "must be a namespace name (DNS label)")
	}
	if g := c.SharedGateway; g != nil {
		if !k8sname.IsDNSLabel(g.Namespace) {
			errs.Add("config.sharedGateway.namespace", "must be a namespace name (DNS label)")
		}
		if !isDNSSubdomain(g.Name) {
			errs.Add("config.sharedGateway.name", "must be a Gateway name (DNS subdomain)")
		}
	}
	if !slices.Contains(implementations, c.Implementation) {
		errs.Add("config.implementation", fmt.Sprintf("must be one of %v", implementations))
	}
	validateIssuer(&errs, "config.certManager", c.CertManager, true)
	validateLabels(&errs, "config.destinationSelector", c.DestinationSelector)
	if c.PlatformAPI != APIAuto && c.PlatformAPI != APIOff {
		errs.Add("config.platformAPI", fmt.Sprintf("must be %q or %q", APIAuto, APIOff))
	}
	return errs.Err()
}

// validateIssuer checks a cert-manager issuer reference; an empty name is
// allowed where the issuer is optional.
func validateIssuer(errs *kratix.FieldErrors, field string, r IssuerRef, optional bool) {
	if r.Kind != "ClusterIssuer" && r.Kind != "Issuer" {
		errs.Add(field+".kind", `must be "ClusterIssuer" or "Issuer"`)
	}
	switch {
	case r.Name == "" && optional:
	case r.Name == "":
		errs.Add(field+".name", "must not be empty")
	case !isDNSSubdomain(r.Name):
		errs.Add(field+".name", "must be a DNS subdomain name")
	}
}
