// Package environment is the environment promise: a team asks for a
// development environment by name and type, and gets an isolated namespace
// or a vcluster, the application stack installed into it by Argo CD, access
// for its group, and (optionally) an ECR repository with an IAM role that
// only the environment's workloads can assume. What a type means
// (isolation, quota profile, chart values, lifetime) is the platform's
// choice, in the promise's configuration (see Config).
//
// Each workflow is one stage. Configure decides a plan from the request,
// the configuration and the status, creates or repairs the AWS resources in
// api mode, deletes the request once its lifetime is over, and writes the
// manifests and the status. Delete removes what api mode made in AWS.
//
// The stage follows the skeleton of package stage (stage.go, spec.go,
// config.go, state.go, decide.go, outside.go, result.go; bundle.go and
// manifests.go hold the documents). It reaches outside systems through
// Outside, so that it can be built without them: pipelines/environment is
// that lean binary, enough for every run in ack mode but the one that
// deletes an expired request. When a run needs AWS or the platform API, it
// hands over to pipelines/environment/environment-aws, the same stage with
// the AWS SDK and an HTTP client (package outside), shipped in the same
// image.
package environment

import (
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/stage"
)

// Isolation kinds.
const (
	IsolationNamespace = "namespace"
	IsolationVCluster  = "vcluster"
)

// The API the stage serves, as promise.yaml defines it.
const (
	APIVersion = "platform.promisekit.dev/v1alpha1"
	Kind       = "Environment"
)

// New returns the stage, reaching outside systems through o.
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

// Workflows are the stage's workflows, reaching outside systems through o.
func Workflows(o Outside) kratix.Workflows {
	return New(o).Workflows()
}
