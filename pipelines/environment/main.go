// Command environment is the environment promise's pipeline stage: it
// configures and deletes development environments (see package
// promises/environment).
package main

import (
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/promises/environment"
)

func main() {
	kratix.Main("environment", environment.Workflows())
}
