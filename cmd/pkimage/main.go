// Command pkimage builds, inspects and pushes the pipelines' container
// images without a container engine (internal/ociimage):
//
//	pkimage build -pipeline natsuser -platform linux/amd64=dist/bin/linux-amd64/natsuser \
//	    -platform linux/arm64=dist/bin/linux-arm64/natsuser -out dist/images/natsuser \
//	    -ref ghcr.io/promisekit/natsuser:v1.2.3 -version v1.2.3 -revision <sha> -epoch <unix>
//	pkimage push -layout dist/images/natsuser -ref registry.example/promisekit/natsuser:v1.2.3
//	pkimage digest -layout dist/images/natsuser
//	pkimage rootfs -pipeline natsuser -bin /out -out /rootfs   (the Dockerfile's recipe)
//	pkimage ls -layout dist/images/natsuser                    (contents and sizes)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/promisekit/promisekit/internal/ociimage"
)

// Source is the repository the images' org.opencontainers.image.source
// label names.
const Source = "https://github.com/promisekit/promisekit"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pkimage: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: pkimage build|push|digest|rootfs|ls [flags]")
	}
	fs := flag.NewFlagSet("pkimage "+args[0], flag.ContinueOnError)
	switch args[0] {
	case "build":
		var (
			b         ociimage.Build
			platforms platformDirs
			out, ref  string
			version   = fs.String("version", "dev", "org.opencontainers.image.version")
			revision  = fs.String("revision", "", "org.opencontainers.image.revision (the commit)")
			epoch     = fs.String("epoch", "0", "creation time, Unix seconds (SOURCE_DATE_EPOCH: the commit's time)")
		)
		fs.StringVar(&b.Pipeline, "pipeline", "", "pipeline name: its command becomes /stage (required)")
		fs.Var(&platforms, "platform", "os/arch=dir of that platform's commands (repeatable, index order)")
		fs.StringVar(&out, "out", "", "OCI layout directory to write (replaced) (required)")
		fs.StringVar(&ref, "ref", "", "the name the layout gives the index (org.opencontainers.image.ref.name)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if b.Pipeline == "" || out == "" || len(platforms.platforms) == 0 {
			return errors.New("build: -pipeline, -out and at least one -platform are required")
		}
		secs, err := strconv.ParseInt(*epoch, 10, 64)
		if err != nil || secs < 0 {
			return fmt.Errorf("build: -epoch %q: want Unix seconds", *epoch)
		}
		b.Platforms, b.Dirs = platforms.platforms, platforms.dirs
		b.Meta = ociimage.Meta{Created: time.Unix(secs, 0).UTC(), Labels: map[string]string{
			ociimage.LabelSource: Source, ociimage.LabelRevision: *revision, ociimage.LabelVersion: *version,
		}}
		idx, err := b.Index()
		if err != nil {
			return err
		}
		if err := ociimage.WriteLayout(out, idx, ref); err != nil {
			return err
		}
		return summary(stdout, out, idx)
	case "push":
		dir := fs.String("layout", "", "OCI layout written by build (required)")
		ref := fs.String("ref", "", "registry/repository:tag to push to (required)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *dir == "" || *ref == "" {
			return errors.New("push: -layout and -ref are required")
		}
		idx, err := ociimage.ReadLayout(*dir)
		if err != nil {
			return err
		}
		d, err := ociimage.Push(ctx, idx, *ref)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s@%s\n", *ref, d)
		return nil
	case "digest":
		dir := fs.String("layout", "", "OCI layout written by build (required)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		idx, err := ociimage.ReadLayout(*dir)
		if err != nil {
			return err
		}
		d, err := idx.Digest()
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, d)
		return nil
	case "rootfs":
		pipeline := fs.String("pipeline", "", "pipeline name (required)")
		bin := fs.String("bin", "", "directory of the pipeline's commands (required)")
		out := fs.String("out", "", "directory to write the image's filesystem into (required)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *pipeline == "" || *bin == "" || *out == "" {
			return errors.New("rootfs: -pipeline, -bin and -out are required")
		}
		commands, err := ociimage.ReadCommands(*bin)
		if err != nil {
			return err
		}
		files, err := ociimage.Rootfs(*pipeline, commands)
		if err != nil {
			return err
		}
		return ociimage.WriteRootfs(*out, files)
	case "ls":
		dir := fs.String("layout", "", "OCI layout written by build (required)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		idx, err := ociimage.ReadLayout(*dir)
		if err != nil {
			return err
		}
		if err := summary(stdout, *dir, idx); err != nil {
			return err
		}
		img, err := ociimage.PlatformImage(idx, ociimage.Platforms()[0])
		if err != nil {
			return err
		}
		entries, err := ociimage.Contents(img)
		if err != nil {
			return err
		}
		for _, e := range entries {
			fmt.Fprintf(stdout, "  %s\n", e)
		}
		return nil
	}
	return fmt.Errorf("unknown command %q: want build, push, digest, rootfs or ls", args[0])
}

// summary prints the index digest and each platform's compressed size.
func summary(w io.Writer, dir string, idx v1.ImageIndex) error {
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s %s\n", dir, d)
	for _, desc := range m.Manifests {
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return err
		}
		size, err := ociimage.Sizes(img)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  %s/%s %s compressed %.2f MiB\n", desc.Platform.OS, desc.Platform.Architecture, desc.Digest, float64(size)/(1<<20))
	}
	return nil
}

// platformDirs collects -platform os/arch=dir flags in order.
type platformDirs struct {
	platforms []v1.Platform
	dirs      []string
}

func (p *platformDirs) String() string { return fmt.Sprint(p.dirs) }

func (p *platformDirs) Set(s string) error {
	plat, dir, ok := strings.Cut(s, "=")
	if !ok || dir == "" {
		return fmt.Errorf("want os/arch=dir, got %q", s)
	}
	pl, err := ociimage.ParsePlatform(plat)
	if err != nil {
		return err
	}
	p.platforms = append(p.platforms, pl)
	p.dirs = append(p.dirs, dir)
	return nil
}
