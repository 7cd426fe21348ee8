package importguard_test

import (
	"errors"
	"go/build"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/promisekit/promisekit/internal/golist"
)

const module = golist.Module

// A ban names a package and every package below it ("net/http" bans
// net/http and net/http/httptrace, not net/httpx).

// banned is what no pipeline binary may link.
var banned = []string{
	// Heavy libraries that tests use (CRD validation with CEL, an API
	// server's machinery, an embedded NATS server, SealedSecret objects to
	// unseal): each would cost a binary megabytes and milliseconds of
	// package initialisation on every run.
	"k8s.io/client-go",
	"k8s.io/apiextensions-apiserver",
	"k8s.io/apiserver",
	"k8s.io/api",
	"k8s.io/apimachinery",
	"github.com/nats-io/nats-server",
	"github.com/bitnami-labs/sealed-secrets/pkg/apis",
	// Image assembly and registries: cmd/pkimage's, never a stage's.
	"github.com/google/go-containerregistry",

	// This module's test-only packages.
	module + "/internal/apiserver", // a whole API server and etcd: tests and cmd/demo-apiserver only
	module + "/internal/crdcheck",
	module + "/internal/faultproxy",
	"github.com/Shopify/toxiproxy",
	module + "/internal/golist",
	module + "/internal/hostile",
	module + "/internal/importguard",
	module + "/internal/overlaytest",
	module + "/internal/stagetest",
	module + "/promises/apiaggregator/internal/fakeapi",
	module + "/promises/apiaggregator/internal/gatewaycheck",
	module + "/promises/environment/internal/awscalls",
	module + "/promises/environment/internal/motoserver",
	module + "/promises/natsuser/internal/fakesynadia",
	module + "/promises/natsuser/internal/natstest",

	// This module's bench-only packages (cmd/pkbench's scenarios).
	module + "/internal/benchkit",
	module + "/promises/apiaggregator/benchscenario",
	module + "/promises/environment/benchscenario",
	module + "/promises/natsuser/benchscenario",
}

// forCommands are the packages of this module's internal directories that
// are not test-only, with the packages below them: the commands under cmd/
// use them, and the binaries internal/localrun/localapi (the variable the
// local runner sets). They are not banned for every binary; a binary's row
// in extra may still ban them.
var forCommands = []string{
	"internal/devkeys",   // cmd/devkeys, cmd/pkbench
	"internal/kratixsim", // internal/localrun (cmd/kratix-run), internal/benchkit
	"internal/leakcheck", // cmd/leakscan
	"internal/localrun",  // cmd/kratix-run; its localapi, the binaries too
	"internal/ociimage",  // cmd/pkimage
}

// extra is what a binary, named by its directory below pipelines/, must do
// without on top of banned, to stay lean.
var extra = map[string][]string{
	// apiaggregator renders its templates with ytt, and runs the
	// platform's overlays in process too.
	"apiaggregator": nil,
	// environment starts environment-aws for what needs the AWS SDK, whose
	// initialisation alone costs more than a run in ack mode, or an HTTP
	// client. Neither links ytt: the platform's overlays run in the
	// promisekit-overlays sibling, started only when a platform has some.
	"environment":                     {"github.com/aws", "net/http", ytt},
	"environment/environment-aws":     {ytt},
	"environment/promisekit-overlays": nil,
	// natsuser talks to NATS through its own backends, without the client
	// library, and links nothing of this module's internal/, nor ytt.
	"natsuser":                     {"github.com/nats-io/nats.go", module + "/internal", ytt},
	"natsuser/promisekit-overlays": nil,
}

// ytt is the renderer the stages that write no templates leave to their
// overlay sibling: its package initialisation alone costs a run about a
// millisecond (docs/decisions.md).
const ytt = "carvel.dev/ytt"

// TestPipelineImports lists every binary under pipelines/ with `go list
// -deps`, built as `make build` and the Dockerfile build it (CGO_ENABLED=0),
// and fails for each banned package one links.
func TestPipelineImports(t *testing.T) {
	root := golist.Root(t)
	bins := binaries(t, root)
	if len(bins) == 0 {
		t.Fatal("no binary found under pipelines/")
	}
	for name := range extra {
		if !slices.Contains(bins, name) {
			t.Errorf("extra names pipelines/%s, which holds no binary", name)
		}
	}
	for _, bin := range bins {
		t.Run(bin, func(t *testing.T) {
			t.Parallel()
			bans := append(slices.Clone(banned), extra[bin]...)
			out := golist.Deps(t, root, "./pipelines/"+bin)
			deps := strings.Fields(string(out))
			if !slices.Contains(deps, module+"/pipelines/"+bin) {
				t.Fatalf("go list -deps ./pipelines/%s does not list the binary itself:\n%s", bin, out)
			}
			for _, pkg := range deps {
				for _, ban := range bans {
					if pkg == ban || strings.HasPrefix(pkg, ban+"/") {
						t.Errorf("pipelines/%s links %s (banned: %s)", bin, pkg, ban)
					}
				}
			}
		})
	}
}

// TestBanListIsCurrent keeps the table in step with the tree: every
// package of this module it bans exists, so that a move cannot leave a ban
// behind that matches nothing, and every package in an internal directory
// (internal/, promises/<p>/internal/) or a bench-scenario package is
// either banned or listed in forCommands, itself or a package above it.
func TestBanListIsCurrent(t *testing.T) {
	root := golist.Root(t)
	var local []string
	for _, ban := range banned {
		if rel, ok := strings.CutPrefix(ban, module+"/"); ok {
			local = append(local, rel)
			if !isPackage(t, filepath.Join(root, rel)) {
				t.Errorf("banned names %s, which is not a package: update the table", rel)
			}
		}
	}
	for _, rel := range forCommands {
		if !isPackage(t, filepath.Join(root, rel)) {
			t.Errorf("forCommands names %s, which is not a package: update the table", rel)
		}
	}
	var found []string
	for _, pattern := range []string{"internal", "promises/*/internal", "promises/*/benchscenario"} {
		dirs, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(pattern)))
		if err != nil {
			t.Fatal(err)
		}
		for _, dir := range dirs {
			err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil || !d.IsDir() {
					return err
				}
				if d.Name() == "testdata" {
					return filepath.SkipDir
				}
				if isPackage(t, p) {
					rel, err := filepath.Rel(root, p)
					found = append(found, filepath.ToSlash(rel))
					return err
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, rel := range found {
		covered := false
		for _, listed := range append(local, forCommands...) {
			covered = covered || rel == listed || strings.HasPrefix(rel, listed+"/")
		}
		if !covered {
			t.Errorf("%s is neither banned nor in forCommands: ban it if only tests or benchmarks use it", rel)
		}
	}
}

// binaries are the directories below pipelines/ that hold a command,
// relative to pipelines/ and slash-separated ("environment/environment-aws").
func binaries(t *testing.T, root string) []string {
	t.Helper()
	var bins []string
	base := filepath.Join(root, "pipelines")
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || p == base {
			return err
		}
		if d.Name() == "testdata" {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(p, 0)
		var noGo *build.NoGoError
		if errors.As(err, &noGo) {
			return nil
		}
		if err != nil {
			return err
		}
		if pkg.Name == "main" {
			rel, err := filepath.Rel(base, p)
			bins = append(bins, path.Clean(filepath.ToSlash(rel)))
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return bins
}

// isPackage reports whether dir holds a Go package (test files count).
func isPackage(t *testing.T, dir string) bool {
	t.Helper()
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return false
	}
	_, err := build.ImportDir(dir, 0)
	var noGo *build.NoGoError
	switch {
	case err == nil:
		return true
	case errors.As(err, &noGo):
		return false
	}
	t.Fatal(err)
	return false
}
