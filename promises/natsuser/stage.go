// Package natsuser is the stage of the natsuser Promise: it keeps one NATS
// user per NATSUser request, in Synadia Cloud or in a self-hosted NATS
// account, and delivers its credentials to the request's namespace as a
// SealedSecret.
//
// Kratix re-runs the stage on a schedule, and each run must leave the
// Secret exactly as it was unless new credentials are due: a changed
// Secret restarts every workload that mounts it, and a SealedSecret missing
// from the output deletes it. So the stage keeps, in the request's status,
// the user's public identity, when its credentials expire, a hash of the
// settings they carry and the sealed ciphertext, and nothing secret. Every
// run re-emits the stored ciphertext byte for byte; credentials are issued
// (and sealed) again only when none were issued yet, the settings changed,
// the user had to be created again, the target Secret changed, the key
// that sealed them was retired, or the renewal point was reached.
//
// The stage follows the skeleton of package stage: spec.go, config.go,
// state.go, decide.go, outside.go and result.go hold its steps.
package natsuser

import (
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/stage"
)

// The API the stage serves, as promise.yaml defines it.
const (
	APIVersion = "nats.promisekit.dev/v1alpha1"
	Kind       = "NATSUser"
)

// New returns the stage, reaching NATS accounts through o.
func New(o Outside) *stage.Stage[Spec, Config, record, Outside] {
	return &stage.Stage[Spec, Config, record, Outside]{
		API:       stage.API{APIVersion: APIVersion, Kind: Kind},
		Config:    stage.ConfigFile[Config]{Default: defaultConfig, Validate: (*Config).validate},
		State:     stateCodec,
		Bind:      bindState,
		Deadline:  (*Config).deadline,
		Overlays:  o.Overlays,
		Outside:   o,
		Configure: decideConfigure,
		Delete:    decideDelete,
	}
}

// Workflows are the stage's workflows, reaching NATS accounts through o.
func Workflows(o Outside) kratix.Workflows {
	return New(o).Workflows()
}
