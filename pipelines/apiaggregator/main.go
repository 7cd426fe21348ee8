// Command apiaggregator is the pipeline stage of the ApiAggregator and
// ApiAggregatorTarget Promises: it renders a Gateway for an aggregator and
// HTTPRoutes for a target, dispatching on the input object's kind.
package main

import (
	"github.com/promisekit/promisekit/internal/localrun/localapi"
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/promises/apiaggregator"
)

func main() {
	// The platform API where the stage runs: the cluster's, or the local
	// runner's directory of objects.
	kratix.Main("apiaggregator", apiaggregator.Workflows(localapi.Connect))
}
