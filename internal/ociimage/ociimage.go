// Package ociimage assembles a pipeline's container image without a
// container engine, with go-containerregistry (what ko is built on): from
// scratch, one layer holding the pipeline's static commands, a CA bundle and
// the nonroot user's /etc/passwd and /etc/group; user 65532, entrypoint
// /stage, OCI labels; one image per platform, all of them in one index,
// written as an OCI layout and pushed from it.
//
// The same commands, labels and creation time give the same digests on any
// machine: tar entries are sorted, and their times, owners and modes fixed.
package ociimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/pem"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// What every pipeline image declares. The Dockerfile declares the same
// (a test in test/image compares the two recipes).
const (
	// User is the image config's user: distroless' nonroot user, the
	// runAsUser of every Promise's pipeline containers.
	User = "65532:65532"
	// StagePath is the pipeline's own command, the entrypoint.
	StagePath = "/stage"
	// CACertsPath is where Go's crypto/x509 looks first on Linux.
	CACertsPath = "/etc/ssl/certs/ca-certificates.crt"
	// PasswdPath and GroupPath name the nonroot user and group.
	PasswdPath = "/etc/passwd"
	GroupPath  = "/etc/group"
)

// OCI annotation keys the images carry as labels.
const (
	LabelSource   = "org.opencontainers.image.source"
	LabelRevision = "org.opencontainers.image.revision"
	LabelVersion  = "org.opencontainers.image.version"
	LabelRefName  = "org.opencontainers.image.ref.name"
)

// Entrypoint is the image's entrypoint.
func Entrypoint() []string { return []string{StagePath} }

// Platforms are the platforms every image is built for, in index order.
func Platforms() []v1.Platform {
	return []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}}
}

// File is one regular file of an image's filesystem.
type File struct {
	Path string // absolute, clean
	Mode int64  // permission bits
	Data []byte
}

// Rootfs is an image's whole filesystem for a pipeline: its commands
// (name → static binary; the one named like the pipeline becomes
// /stage, the others keep their names at the root, where the stage finds
// them beside itself), the CA bundle, /etc/passwd and /etc/group. Sorted
// by path.
func Rootfs(pipeline string, commands map[string][]byte) ([]File, error) {
	if _, ok := commands[pipeline]; !ok {
		return nil, fmt.Errorf("pipeline %s: no command named %s among %d", pipeline, pipeline, len(commands))
	}
	files := []File{
		{Path: CACertsPath, Mode: 0o644, Data: CABundle()},
		{Path: PasswdPath, Mode: 0o644, Data: []byte(passwd)},
		{Path: GroupPath, Mode: 0o644, Data: []byte(group)},
	}
	for name, data := range commands {
		if name == "" || strings.ContainsAny(name, "/\\") || name == "." || name == ".." {
			return nil, fmt.Errorf("pipeline %s: command name %q is not a file name", pipeline, name)
		}
		p := "/" + name
		if name == pipeline {
			p = StagePath
		} else if p == StagePath || p == "/etc" {
			return nil, fmt.Errorf("pipeline %s: command %q would clash with %s", pipeline, name, p)
		}
		files = append(files, File{Path: p, Mode: 0o755, Data: data})
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return files, nil
}

// The nonroot user and group as distroless defines them (root and nobody
// too, so that tools naming them resolve). No login shell: there is none.
const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group = "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n"
)

// CABundle is the PEM bundle of Mozilla's NSS roots as pinned by the
// golang.org/x/crypto/x509roots/fallback module version in go.mod: the
// same bytes on every machine for one commit, unlike the build machine's
// /etc/ssl/certs, and updated by a reviewed go.mod change. Roots NSS
// constrains (distrust after a date) are left out: a PEM file cannot carry
// the constraint, and trusting them without it would trust more than NSS
// does.
func CABundle() []byte {
	var b bytes.Buffer
	for r := range bundle.Roots() {
		if r.Constraint != nil {
			continue
		}
		// A bytes.Buffer write does not fail.
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: r.Certificate})
	}
	return b.Bytes()
}

// Layer is one gzip-compressed OCI layer of files: entries sorted, parent
// directories made explicit, every time set to mtime, owner root, no user
// or group names. Directories are 0755.
func Layer(files []File, mtime time.Time) (v1.Layer, error) {
	data, err := layerTar(files, mtime)
	if err != nil {
		return nil, err
	}
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressionLevel(gzip.BestCompression))
}

func layerTar(files []File, mtime time.Time) ([]byte, error) {
	type entry struct {
		name string
		file *File
	}
	seen := map[string]bool{}
	var entries []entry
	for i := range files {
		f := &files[i]
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || f.Path == "/" {
			return nil, fmt.Errorf("layer: %q is not a clean absolute file path", f.Path)
		}
		name := strings.TrimPrefix(f.Path, "/")
		if seen[name] {
			return nil, fmt.Errorf("layer: %s twice", f.Path)
		}
		seen[name] = true
		entries = append(entries, entry{name, f})
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			if !seen[d+"/"] {
				seen[d+"/"] = true
				entries = append(entries, entry{name: d + "/"})
			}
		}
	}
	// Sorted by name, a directory ("etc/") comes before what it holds.
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime = mtime.UTC().Truncate(time.Second)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, ModTime: mtime, Format: tar.FormatUSTAR, Typeflag: tar.TypeDir, Mode: 0o755}
		if e.file != nil {
			h.Typeflag, h.Mode, h.Size = tar.TypeReg, e.file.Mode, int64(len(e.file.Data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("layer: %s: %w", e.name, err)
		}
		if e.file != nil {
			if _, err := tw.Write(e.file.Data); err != nil {
				return nil, fmt.Errorf("layer: %s: %w", e.name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Meta is what an image says about itself besides its files.
type Meta struct {
	Created time.Time         // the config's and history's creation time (SOURCE_DATE_EPOCH)
	Labels  map[string]string // OCI labels: source, revision, version
}

// Image is an OCI image for one platform: from scratch, the one layer,
// the nonroot user, /stage as entrypoint, and the labels.
func Image(layer v1.Layer, platform v1.Platform, meta Meta) (v1.Image, error) {
	created := v1.Time{Time: meta.Created.UTC().Truncate(time.Second)}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: created, CreatedBy: "promisekit cmd/pkimage", Comment: "pipeline commands, CA bundle, nonroot user"},
	})
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", platform.String(), err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", platform.String(), err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = platform.OS, platform.Architecture, platform.Variant
	cf.Created = created
	cf.Config.User = User
	cf.Config.Entrypoint = Entrypoint()
	cf.Config.Cmd = nil
	cf.Config.WorkingDir = "/"
	cf.Config.Labels = meta.Labels
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", platform.String(), err)
	}
	return img, nil
}

// Index is the multi-platform image: one manifest per platform, in the
// order given, annotated with the labels.
func Index(images []v1.Image, platforms []v1.Platform, labels map[string]string) (v1.ImageIndex, error) {
	if len(images) != len(platforms) || len(images) == 0 {
		return nil, fmt.Errorf("index: %d images for %d platforms", len(images), len(platforms))
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for i, img := range images {
		p := platforms[i]
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	if len(labels) > 0 {
		annotated, ok := mutate.Annotations(idx, labels).(v1.ImageIndex)
		if !ok {
			return nil, fmt.Errorf("index: annotations did not keep an index")
		}
		idx = annotated
	}
	return idx, nil
}

// ParsePlatform reads "os/arch" or "os/arch/variant": go-containerregistry's
// parser, which also takes "linux" or "/amd64", with both parts required.
func ParsePlatform(s string) (v1.Platform, error) {
	p, err := v1.ParsePlatform(s)
	if err != nil || p.OS == "" || p.Architecture == "" || p.OSVersion != "" {
		return v1.Platform{}, fmt.Errorf("platform %q: want os/arch[/variant]", s)
	}
	return *p, nil
}
