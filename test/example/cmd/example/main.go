// Command example is the example promise's pipeline stage (image
// ghcr.io/promisekit/example); see package stage.
package main

import (
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/overlays"
	"github.com/promisekit/promisekit/test/example"
)

func main() {
	kratix.Main("example", example.Workflows(example.Outside{Overlays: overlays.Sibling()}))
}
