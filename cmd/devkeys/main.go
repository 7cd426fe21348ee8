// Command devkeys writes development keys for running the natsuser Promise
// locally (see internal/devkeys) and prints the environment a stage needs,
// one KEY=VALUE a line, ready for kratix-run's --env:
//
//	bin/devkeys -dir .demo/keys
//	bin/kratix-run ... $(bin/devkeys -dir .demo/keys | sed 's/^/--env /')
//
// The keys are secret and for development only; keep them in a
// git-ignored directory.
package main

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/promisekit/promisekit/internal/devkeys"
)

func main() {
	dir := flag.String("dir", ".demo/keys", "directory to write the keys and configuration to")
	force := flag.Bool("force", false, "replace an existing set of keys")
	bits := flag.Int("bits", devkeys.DefaultBits, "size of the sealing RSA key")
	natsURL := flag.String("nats-url", devkeys.DefaultNATSURL, "NATS URL shown in status")
	dests := flag.String("destinations", "", "comma-separated destination names, each with a sealing key of its own (config.destinations)")
	flag.Parse()
	keys, err := devkeys.Generate(*dir, devkeys.Options{Bits: *bits, Force: *force, NATSURL: *natsURL, Destinations: strings.FieldsFunc(*dests, func(r rune) bool { return r == ',' })})
	if err != nil {
		fmt.Fprintln(os.Stderr, "devkeys:", err)
		os.Exit(1)
	}
	env := keys.Env()
	for _, k := range slices.Sorted(maps.Keys(env)) {
		fmt.Printf("%s=%s\n", k, env[k])
	}
}
