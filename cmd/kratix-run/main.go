// Command kratix-run runs a Promise's pipeline binaries on a resource
// request as Kratix would, without a cluster, and writes the result into a
// local state-store tree laid out as Kratix lays out its git repository.
//
//	kratix-run --promise promises/natsuser/promise.yaml \
//	    --request promises/natsuser/examples/orders.yaml --state-store .demo/state
//
// Running it again on the same request is a scheduled re-run: the status
// from the earlier run goes in. --action delete runs the delete workflow and
// removes the request's output, as Kratix's work cleanup does.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/localrun"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "kratix-run: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("kratix-run", flag.ContinueOnError)
	var (
		o       localrun.Options
		now     string
		env     keyValues
		dests   destinations
		verbose bool
		show    bool
	)
	fs.StringVar(&o.PromiseFile, "promise", "", "the Promise file (required)")
	fs.StringVar(&o.RequestFile, "request", "", "the resource request file (required)")
	fs.StringVar(&o.StateStore, "state-store", ".demo/state", "directory standing in for the state store (and, under .platform, the platform API)")
	fs.StringVar(&o.BinDir, "bin-dir", "bin", "directory of pipeline binaries; an image's basename names its binary")
	fs.StringVar(&o.Action, "action", "configure", "workflow action: configure or delete")
	fs.StringVar(&now, "now", "", "the run's clock, RFC 3339 (default: now)")
	fs.Var(&env, "env", "KEY=VALUE passed to every container (repeatable)")
	fs.Var(&dests, "destination", "name=label:value,label:value (repeatable; default worker-1=environment:dev)")
	fs.BoolVar(&verbose, "v", false, "print the containers' stderr and each step")
	fs.BoolVar(&show, "show-status", true, "print the object's status after the run")
	fs.StringVar(&o.APIServer, "api-server", "", "connection directory of a real API server (cmd/demo-apiserver) to keep the objects in and give the stages as their platform API")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.PromiseFile == "" || o.RequestFile == "" {
		fs.Usage()
		return errors.New("--promise and --request are required")
	}
	if now != "" {
		t, err := time.Parse(time.RFC3339, now)
		if err != nil {
			return fmt.Errorf("--now: %w", err)
		}
		o.Now = t
	}
	o.Env = env
	o.Destinations = dests
	if verbose {
		o.Log = os.Stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out, err := localrun.Run(ctx, o)
	if err != nil {
		return err
	}
	if out.Deleted {
		fmt.Printf("%s: deleted; its output is gone from %s\n", o.RequestFile, o.StateStore)
		return nil
	}
	for _, f := range out.Written {
		fmt.Printf("wrote %s\n", f)
	}
	if c := out.Control; c != nil {
		fmt.Printf("%s: workflow stopped (%s); the earlier output stays: %s\n", o.RequestFile, c, c.Message)
	}
	if show {
		status, _ := yaml.Marshal(map[string]any{"status": out.Object["status"]})
		fmt.Print(string(status))
	}
	return nil
}

type keyValues map[string]string

func (kv *keyValues) String() string { return fmt.Sprint(map[string]string(*kv)) }

func (kv *keyValues) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", s)
	}
	if *kv == nil {
		*kv = keyValues{}
	}
	(*kv)[k] = v
	return nil
}

type destinations []localrun.Destination

func (d *destinations) String() string { return fmt.Sprint(*d) }

func (d *destinations) Set(s string) error {
	name, labels, _ := strings.Cut(s, "=")
	if name == "" {
		return fmt.Errorf("want name=label:value,…, got %q", s)
	}
	dest := localrun.Destination{Name: name, Labels: map[string]string{}}
	for _, kv := range strings.Split(labels, ",") {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, ":")
		if !ok {
			return fmt.Errorf("label %q: want label:value", kv)
		}
		dest.Labels[k] = v
	}
	*d = append(*d, dest)
	return nil
}
