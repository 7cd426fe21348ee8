// Command natsuser is the natsuser Promise's pipeline stage: it keeps a NATS
// user per NATSUser request and delivers its credentials as a SealedSecret.
// See promises/natsuser.
package main

import (
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/overlays"
	"github.com/promisekit/promisekit/promises/natsuser"
)

func main() {
	kratix.Main("natsuser", natsuser.Workflows(natsuser.Outside{Overlays: overlays.Sibling()}))
}
