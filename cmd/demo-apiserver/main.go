// Command demo-apiserver runs a real Kubernetes API server for the demo
// (internal/apiserver: apiextensions-apiserver on an embedded etcd, on a
// loopback port), and prints `kubectl get` tables from it.
//
//	demo-apiserver serve -dir CONN -promise FILE...   start, install each Promise's CRD,
//	                                                  write the connection directory, serve until SIGTERM
//	demo-apiserver get -dir CONN [-A] [-n NS] [-wide] PLURAL
//
// The connection directory (url, ca.crt, token) is what the local runner
// takes (kratix-run --api-server) and hands its binaries. It holds a token
// with all rights to a server that lives as long as the demo: keep it out
// of shared directories. No pipeline binary links this command's packages.
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

	"github.com/promisekit/promisekit/internal/apiserver"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "demo-apiserver: %v\n", err)
		os.Exit(1)
	}
}

type files []string

func (f *files) String() string     { return strings.Join(*f, ",") }
func (f *files) Set(v string) error { *f = append(*f, v); return nil }

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: demo-apiserver serve|get [flags]")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "serve":
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		dir := fs.String("dir", "", "connection directory to write (required)")
		var promises files
		fs.Var(&promises, "promise", "a Promise file whose CRD to install (repeatable)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *dir == "" {
			return errors.New("serve: -dir is required")
		}
		srv, err := apiserver.Start(ctx, apiserver.Options{})
		if err != nil {
			return err
		}
		defer srv.Close()
		if err := srv.InstallPromiseFiles(ctx, promises...); err != nil {
			return err
		}
		if err := srv.WriteConnection(*dir); err != nil {
			return err
		}
		fmt.Println("ready")
		<-ctx.Done()
		return nil
	case "get":
		fs := flag.NewFlagSet("get", flag.ContinueOnError)
		dir := fs.String("dir", "", "connection directory (required)")
		var opts apiserver.GetOptions
		fs.BoolVar(&opts.AllNamespaces, "A", false, "every namespace")
		fs.StringVar(&opts.Namespace, "n", "", "namespace (default: default)")
		fs.BoolVar(&opts.Wide, "wide", false, "the wide columns too (-o wide)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *dir == "" || fs.NArg() != 1 {
			return errors.New("usage: demo-apiserver get -dir CONN [-A] [-n NS] [-wide] PLURAL")
		}
		cfg, err := apiserver.ConnectionConfig(*dir)
		if err != nil {
			return err
		}
		return apiserver.KubectlGet(ctx, cfg, os.Stdout, fs.Arg(0), opts)
	}
	return fmt.Errorf("unknown command %q: serve or get", args[0])
}
