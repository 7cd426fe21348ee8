// Command environment-lifecycle is the environment promise's lifecycle
// stage: AWS resources in api mode, the self-deletion of expired
// environments, and the delete workflow (see package promises/environment).
package main

import (
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/promises/environment/lifecycle"
)

func main() {
	kratix.Main("environment-lifecycle", lifecycle.Workflows())
}
