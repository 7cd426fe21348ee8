// Command environment-aws is the environment promise's stage with the AWS
// SDK and an HTTP client. It ships next to the environment binary, which
// starts it in its place when a run needs them (see pipelines/environment).
package main

import (
	"github.com/promisekit/promisekit/internal/localrun/localapi"
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/platformapi"
	"github.com/promisekit/promisekit/promises/environment"
	"github.com/promisekit/promisekit/promises/environment/outside"
)

func main() {
	kratix.Main("environment", environment.Workflows(outside.New(platformAPI)))
}

// platformAPI is the platform API where the stage runs, chosen here and
// nowhere else: the local runner's directory of objects when the runner
// names one, else the cluster's API server through the Pod's service
// account.
func platformAPI(getenv func(string) string) (platformapi.API, error) {
	if dir := getenv(localapi.Variable); dir != "" {
		return platformapi.NewDir(dir), nil
	}
	c, err := platformapi.NewInCluster(getenv)
	if err != nil {
		return nil, err
	}
	return c, nil
}
