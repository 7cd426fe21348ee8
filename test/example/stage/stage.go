// Package stage is the example promise's pipeline stage: the smallest stage
// that uses every part of the foundation. It turns a Greeting request into a
// ConfigMap holding the greeting (Kratix's default group, for any
// destination) and a ServiceAccount for the greeters (a directory of its
// own, for destinations labelled environment=dev), and keeps a little state
// in the request's status.
//
// The local runner's tests, the Kratix contract tests (test/kratix), `make
// demo` and `make bench` all run it; it is not a promise anyone installs.
package stage

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/state"
)

// Limits of the Greeting API, as the Promise's CRD states them.
const (
	MaxGreetingLength = 64
	MinReplicas       = 1
	MaxReplicas       = 10
	DefaultReplicas   = 1
)

// APIVersion and Kind are the Greeting API of test/example/promise.yaml.
const (
	APIVersion = "example.promisekit.dev/v1alpha1"
	Kind       = "Greeting"
)

// DevDirectory is the output directory sent only to destinations labelled
// environment=dev.
const DevDirectory = "dev"

// Spec is a Greeting request's spec.
type Spec struct {
	Greeting string `json:"greeting"`
	// Replicas is nil when the request leaves it out. The API server
	// fills in the CRD's default; a stage run without one (locally, or
	// on an object stored before the default existed) applies it here.
	Replicas *int `json:"replicas,omitempty"`
}

// State is what the stage remembers between runs, under status.greeting.
type State struct {
	// FirstGreeting is the greeting of the first run.
	FirstGreeting string `json:"firstGreeting"`
	// LastGreeting is the greeting of the latest run.
	LastGreeting string `json:"lastGreeting"`
	// Changes counts the runs whose greeting differed from the run before.
	Changes int `json:"changes"`
}

// StateKey is the top-level status key that holds State.
const StateKey = "greeting"

// Workflows returns the stage's workflows: the resource configure and
// delete pipelines of test/example/promise.yaml.
func Workflows() kratix.Workflows {
	return kratix.Workflows{
		ResourceConfigure: configure,
		ResourceDelete:    remove,
	}
}

func configure(_ context.Context, req *kratix.Request) (*kratix.Result, error) {
	if err := req.Object.CheckKind(APIVersion, Kind); err != nil {
		return nil, err
	}
	var spec Spec
	if err := req.Object.DecodeSpec(&spec); err != nil {
		return nil, err
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	replicas := DefaultReplicas
	if spec.Replicas != nil {
		replicas = *spec.Replicas
	}

	codec := state.Codec[State]{Key: StateKey, Version: 1}
	prev, found, err := codec.Load(req.Object)
	if err != nil {
		return nil, err
	}
	next := State{FirstGreeting: spec.Greeting, LastGreeting: spec.Greeting}
	if found {
		next.FirstGreeting = prev.FirstGreeting
		next.Changes = prev.Changes
		if prev.LastGreeting != spec.Greeting {
			next.Changes++
		}
	}

	meta := req.Object.Metadata
	labels := map[string]string{
		"app.kubernetes.io/name":       "greeting",
		"app.kubernetes.io/instance":   meta.Name,
		"app.kubernetes.io/managed-by": "promisekit",
	}
	res := &kratix.Result{
		Message: fmt.Sprintf("greeting %q with %d %s", spec.Greeting, replicas, plural(replicas, "replica", "replicas")),
		Documents: []kratix.Document{
			{Object: configMap{
				APIVersion: "v1",
				Kind:       "ConfigMap",
				Metadata:   objectMeta{Name: meta.Name, Namespace: meta.Namespace, Labels: labels},
				Data:       map[string]string{"greeting": spec.Greeting, "replicas": fmt.Sprint(replicas)},
			}},
			{Directory: DevDirectory, Object: serviceAccount{
				APIVersion: "v1",
				Kind:       "ServiceAccount",
				Metadata:   objectMeta{Name: meta.Name, Namespace: meta.Namespace, Labels: labels},
			}},
		},
		DestinationSelectors: []kratix.DestinationSelector{
			{Directory: DevDirectory, MatchLabels: map[string]string{"environment": "dev"}},
		},
	}
	if err := codec.Store(res, next); err != nil {
		return nil, err
	}
	return res, nil
}

// remove is the delete workflow. Kratix removes the request's output itself
// and ignores a delete pipeline's output, so there is only a message to set.
func remove(_ context.Context, req *kratix.Request) (*kratix.Result, error) {
	if err := req.Object.CheckKind(APIVersion, Kind); err != nil {
		return nil, err
	}
	return &kratix.Result{Message: fmt.Sprintf("greeting %s removed", req.Object.Metadata.Name)}, nil
}

// Validate applies the CRD's rules, so that a request stored before a rule
// existed, or a stage run without an API server, fails with the field named.
func (s Spec) Validate() error {
	var errs kratix.FieldErrors
	// The API server counts characters, not bytes.
	switch n := utf8.RuneCountInString(s.Greeting); {
	case n == 0:
		errs.Add("spec.greeting", "is required")
	case n > MaxGreetingLength:
		errs.Add("spec.greeting", fmt.Sprintf("must be at most %d characters, not %d", MaxGreetingLength, n))
	}
	// The CEL rules: trim() is strings.TrimSpace in cel-go.
	if strings.TrimSpace(s.Greeting) != s.Greeting {
		errs.Add("spec.greeting", "must not start or end with whitespace")
	}
	if strings.Contains(s.Greeting, "\n") {
		errs.Add("spec.greeting", "must be a single line")
	}
	if r := s.Replicas; r != nil && (*r < MinReplicas || *r > MaxReplicas) {
		errs.Add("spec.replicas", fmt.Sprintf("must be between %d and %d, not %d", MinReplicas, MaxReplicas, *r))
	}
	return errs.Err()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// objectMeta, configMap and serviceAccount are the parts of the Kubernetes
// types the stage writes; k8s.io/api would add megabytes to the binary.
type objectMeta struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
}

type configMap struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   objectMeta        `json:"metadata"`
	Data       map[string]string `json:"data"`
}

type serviceAccount struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   objectMeta `json:"metadata"`
}
