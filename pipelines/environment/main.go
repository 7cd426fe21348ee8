// Command environment is the environment promise's pipeline stage: it
// configures and deletes development environments (see package
// promises/environment).
//
// It is built without the AWS SDK, whose package initialisation is costly
// (docs/decisions.md), and without an HTTP client.
// A run that needs either (AWS api mode, or deleting an expired request)
// starts environment-aws, the same stage with both, in its place.
package main

import (
	"os"
	"path/filepath"
	"syscall"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/overlays"
	"github.com/promisekit/promisekit/promises/environment"
)

func main() {
	kratix.Main("environment", environment.Workflows(environment.Outside{HandOver: handOver, Overlays: overlays.Sibling()}))
}

// handOver replaces this process with environment-aws, found next to this
// binary (in the image, and in bin/), with the same arguments and
// environment; it returns only on failure.
func handOver() error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	path := filepath.Join(filepath.Dir(self), "environment-aws")
	return syscall.Exec(path, append([]string{path}, os.Args[1:]...), os.Environ())
}
