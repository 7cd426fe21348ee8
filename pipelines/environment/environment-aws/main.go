// Command environment-aws is the environment promise's stage with the AWS
// SDK and an HTTP client. It ships next to the environment binary, which
// starts it in its place when a run needs them (see pipelines/environment).
package main

import (
	"github.com/promisekit/promisekit/internal/localrun/localapi"
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/overlays"
	"github.com/promisekit/promisekit/promises/environment"
	"github.com/promisekit/promisekit/promises/environment/outside"
)

func main() {
	// The platform API where the stage runs: the cluster's, or the local
	// runner's directory of objects.
	o := outside.New(localapi.Connect)
	o.Overlays = overlays.Sibling()
	kratix.Main("environment", environment.Workflows(o))
}
