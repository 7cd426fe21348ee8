// Command apiaggregator is the pipeline stage of the ApiAggregator and
// ApiAggregatorTarget Promises: it renders a Gateway for an aggregator and
// HTTPRoutes for a target, dispatching on the input object's kind.
package main

import (
	"github.com/promisekit/promisekit/internal/localrun/localapi"
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/platformapi"
	"github.com/promisekit/promisekit/promises/apiaggregator"
)

func main() {
	kratix.Main("apiaggregator", apiaggregator.Workflows(platformAPI))
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
