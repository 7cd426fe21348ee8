package environment

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/promisekit/promisekit/pkg/k8sname"
	"github.com/promisekit/promisekit/pkg/kratix"
)

// Spec is what a team asks for. The platform decides what Type means.
type Spec struct {
	// Type names an environment type of the platform's configuration,
	// such as preview or development.
	Type string `json:"type"`
	// TeamGroup is the owning team's group, as the cluster's authenticator
	// names it; it gets access to the environment.
	TeamGroup string `json:"teamGroup"`
	// InstallInfra installs the application's own infrastructure
	// (databases, queues) with the application stack.
	InstallInfra bool `json:"installInfra,omitempty"`
	// TTL is the environment's lifetime from its creation, such as 72h or
	// 7d; empty means the type's default.
	TTL string `json:"ttl,omitempty"`
	// Per-service parameters of the application stack.
	Frontend      *ServiceParameters `json:"frontend,omitempty"`
	Agenda        *ServiceParameters `json:"agenda,omitempty"`
	C4P           *ServiceParameters `json:"c4p,omitempty"`
	Notifications *ServiceParameters `json:"notifications,omitempty"`
	// Destination names the cluster the environment goes to, one the
	// platform lets requests choose (config.destinations); empty: its default.
	Destination string `json:"destination,omitempty"`
}

// ServiceParameters tune one service of the application stack.
type ServiceParameters struct {
	Debug bool `json:"debug,omitempty"`
}

// services maps the stack's services to the request's parameters, in the
// chart's names (values key services.<name>).
func (s *Spec) services() map[string]*ServiceParameters {
	return map[string]*ServiceParameters{
		"frontend": s.Frontend, "agenda": s.Agenda, "c4p": s.C4P, "notifications": s.Notifications,
	}
}

// minTTL keeps a lifetime longer than the shortest re-run interval Kratix
// allows, so that an environment is used before it is reaped.
const minTTL = time.Hour

// validateSpec validates the request against the platform's
// configuration. Every problem is reported, each naming its field.
func validateSpec(obj *kratix.Object, spec *Spec, cfg *Config) error {
	var errs kratix.FieldErrors
	if name := obj.Metadata.Name; !k8sname.IsDNSLabel(name) {
		errs.Add("metadata.name", "must be at most 63 lower-case letters, digits or '-', starting and ending with a letter or digit: it names the environment's namespace")
	}
	if _, ok := cfg.Types[spec.Type]; !ok {
		if spec.Type == "" {
			errs.Add("spec.type", "required; this platform offers "+typeList(cfg))
		} else {
			errs.Add("spec.type", fmt.Sprintf("unknown type %q; this platform offers %s", spec.Type, typeList(cfg)))
		}
	}
	switch g := spec.TeamGroup; {
	case g == "":
		errs.Add("spec.teamGroup", "required: the group whose members may use the environment")
	case utf8.RuneCountInString(g) > 253 || strings.IndexFunc(g, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0:
		errs.Add("spec.teamGroup", "must be at most 253 characters, without spaces or control characters")
	}
	if spec.TTL != "" {
		ttl, err := parseTTL(spec.TTL)
		maxTTL, _ := parseTTL(cfg.MaxTTL)
		switch {
		case err != nil:
			errs.Add("spec.ttl", err.Error())
		case ttl < minTTL:
			errs.Add("spec.ttl", fmt.Sprintf("%s is shorter than the minimum of 1h", spec.TTL))
		case ttl > maxTTL:
			errs.Add("spec.ttl", fmt.Sprintf("%s is longer than this platform allows (%s)", spec.TTL, cfg.MaxTTL))
		}
	}
	return errs.Err()
}

func typeList(cfg *Config) string {
	names := slices.Sorted(maps.Keys(cfg.Types))
	return strings.Join(names, ", ")
}
