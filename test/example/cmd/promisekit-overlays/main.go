// Command promisekit-overlays runs one pass of the platform's ytt overlays
// for the example stage, which does not link ytt (package overlays): the
// stage starts it, beside itself, only when the platform has overlays.
// Every pipeline that needs it holds the same three lines, so that it
// ships in that pipeline's image (every command under pipelines/<p>/ does).
package main

import (
	"github.com/promisekit/promisekit/pkg/overlays"
	"github.com/promisekit/promisekit/pkg/overlays/pass"
)

func main() {
	overlays.Main(pass.Run)
}
