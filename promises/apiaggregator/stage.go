// Package apiaggregator implements the pipeline stages of two Promises that
// put many teams' APIs behind one public hostname with the Kubernetes
// Gateway API.
//
// An ApiAggregator, created by the platform team, becomes a Gateway for its
// hostname: an HTTPS listener whose certificate comes from cert-manager or a
// named Secret, an HTTP listener that redirects to HTTPS, and an optional
// request-body limit for the whole hostname. An ApiAggregatorTarget, created
// by a team in its own namespace, becomes HTTPRoutes attached to that
// Gateway: one rule per path prefix, sent to one of the team's Services.
//
// Gateway API gives a path claimed by two routes to the older route and says
// nothing to the newer one. A target's stage therefore reads its sibling
// targets from the platform cluster and fails, naming the older target, when
// it claims a prefix that an older target of the same aggregator holds. The
// order is Gateway API's own (creation time, then namespace/name), so what a
// failed run reports is what the gateway would do.
//
// Both kinds are served by one binary: each kind is a stage of its own
// (package stage), and the binary dispatches on the input object's kind.
// Both follow the skeleton: stage.go, spec.go, config.go, state.go,
// decide.go, outside.go and result.go hold their steps; claims.go the
// conflict check, validate.go the field rules. Every document is rendered
// with ytt from templates embedded in the binary (render.go): the stage's
// own set and its gateway implementation's, in one run, so routes know
// nothing about implementations and an implementation is a directory of
// templates.
package apiaggregator

import (
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/overlays/pass"
	"github.com/promisekit/promisekit/pkg/platformapi"
	"github.com/promisekit/promisekit/pkg/stage"
)

// Group is the API group of both kinds; APIVersion is their apiVersion.
const (
	Group      = "apiaggregator.promisekit.io"
	APIVersion = Group + "/v1alpha1"
)

// The two kinds and their APIs.
const (
	KindAggregator = "ApiAggregator"
	KindTarget     = "ApiAggregatorTarget"
)

var (
	aggregatorsAPI = platformapi.Resource{Group: Group, Version: "v1alpha1", Plural: "apiaggregators"}
	targetsAPI     = platformapi.Resource{Group: Group, Version: "v1alpha1", Plural: "apiaggregatortargets"}
)

// Labels set on every rendered object, so that a platform engineer can find
// what an aggregator or a target produced on a destination.
const (
	labelAggregator = Group + "/aggregator"
	labelTarget     = Group + "/target"
)

// Workflows returns the stage functions of the apiaggregator binary, for
// both Promises; a target's stage reads the platform API through o.
func Workflows(o Outside) kratix.Workflows {
	return stage.Kinds(aggregatorStage(o), targetStage(o))
}

func aggregatorStage(o Outside) *stage.Stage[aggregatorSpec, Config, noState, Outside] {
	return newStage(o, KindAggregator, decideAggregator)
}

func targetStage(o Outside) *stage.Stage[targetSpec, Config, noState, Outside] {
	return newStage(o, KindTarget, decideTarget)
}

// newStage returns the stage of one of the two kinds: they share the
// platform configuration, neither reads back the status it writes (see
// state.go), and Kratix removes what either wrote when it is deleted.
func newStage[Spec any](o Outside, kind string, decide stage.Decide[Spec, Config, noState, Outside]) *stage.Stage[Spec, Config, noState, Outside] {
	return &stage.Stage[Spec, Config, noState, Outside]{
		API:       stage.API{APIVersion: APIVersion, Kind: kind},
		Config:    configFile,
		Deadline:  (*Config).deadline,
		Overlays:  pass.Run, // in process: this binary links ytt for its templates anyway
		Outside:   o,
		Configure: decide,
	}
}
