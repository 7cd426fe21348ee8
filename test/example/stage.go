// Package example is the example promise: the smallest stage that uses
// every part of the skeleton (package pkg/stage). It turns a Greeting
// request into a ConfigMap holding the greeting (Kratix's default group,
// for any destination) and a ServiceAccount for the greeters (a directory
// of its own, for destinations labelled environment=dev), and keeps a
// little state in the request's status.
//
// A new promise starts as a copy of this directory: the same files with
// the same roles (stage.go, spec.go, config.go, state.go, decide.go,
// outside.go, result.go) and its own decide and act code. The local
// runner's tests, the Kratix contract tests (test/kratix), `make demo` and
// `make bench` all run it; it is not a promise anyone installs.
package example

import (
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/stage"
)

// APIVersion and Kind are the Greeting API of promise.yaml.
const (
	APIVersion = "example.promisekit.dev/v1alpha1"
	Kind       = "Greeting"
)

// New returns the stage, reaching outside systems through o.
func New(o Outside) *stage.Stage[Spec, Config, State, Outside] {
	return &stage.Stage[Spec, Config, State, Outside]{
		API:       stage.API{APIVersion: APIVersion, Kind: Kind},
		Config:    stage.ConfigFile[Config]{Default: defaultConfig, Validate: (*Config).validate},
		State:     stateCodec,
		Overlays:  o.Overlays,
		Outside:   o,
		Configure: decideConfigure,
		Delete:    decideDelete,
	}
}

// Workflows returns the stage's workflows, the resource configure and
// delete pipelines of promise.yaml, reaching outside systems through o.
func Workflows(o Outside) kratix.Workflows {
	return New(o).Workflows()
}
