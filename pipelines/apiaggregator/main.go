// Command apiaggregator is the pipeline stage of the ApiAggregator and
// ApiAggregatorTarget Promises: it renders a Gateway for an aggregator and
// HTTPRoutes for a target, dispatching on the input object's kind.
package main

import (
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/platformapi"
	"github.com/promisekit/promisekit/promises/apiaggregator"
)

func main() {
	kratix.Main("apiaggregator", apiaggregator.Workflows(platformapi.New))
}
