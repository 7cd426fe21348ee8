package ociimage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Build is one pipeline's multi-platform image, from directories of
// commands built for each platform (`go build -o dir/ ./pipelines/<p>/...`).
type Build struct {
	Pipeline string
	// Dirs holds, per platform in index order, the directory of that
	// platform's commands: every regular file in it ships.
	Platforms []v1.Platform
	Dirs      []string
	Meta      Meta
}

// Index assembles the images and their index.
func (b Build) Index() (v1.ImageIndex, error) {
	if len(b.Platforms) != len(b.Dirs) {
		return nil, fmt.Errorf("pipeline %s: %d platforms, %d directories", b.Pipeline, len(b.Platforms), len(b.Dirs))
	}
	var images []v1.Image
	for i, dir := range b.Dirs {
		commands, err := ReadCommands(dir)
		if err != nil {
			return nil, fmt.Errorf("pipeline %s: %w", b.Pipeline, err)
		}
		files, err := Rootfs(b.Pipeline, commands)
		if err != nil {
			return nil, err
		}
		layer, err := Layer(files, b.Meta.Created)
		if err != nil {
			return nil, fmt.Errorf("pipeline %s: %w", b.Pipeline, err)
		}
		img, err := Image(layer, b.Platforms[i], b.Meta)
		if err != nil {
			return nil, fmt.Errorf("pipeline %s: %w", b.Pipeline, err)
		}
		images = append(images, img)
	}
	return Index(images, b.Platforms, b.Meta.Labels)
}

// ReadCommands reads every regular file of dir (not below it).
func ReadCommands(dir string) (map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading commands: %w", err)
	}
	commands := map[string][]byte{}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading commands: %w", err)
		}
		commands[e.Name()] = data
	}
	return commands, nil
}

// WriteRootfs writes files below dir with their modes, for a Dockerfile
// to COPY: the Docker recipe then ships exactly these files.
func WriteRootfs(dir string, files []File) error {
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.Data, os.FileMode(f.Mode)); err != nil {
			return err
		}
		// WriteFile's mode passes through the umask.
		if err := os.Chmod(p, os.FileMode(f.Mode)); err != nil {
			return err
		}
	}
	return nil
}

// WriteLayout replaces dir with an OCI image layout whose index.json names
// the one index, as ref (its org.opencontainers.image.ref.name).
func WriteLayout(dir string, idx v1.ImageIndex, ref string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("layout %s: %w", dir, err)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("layout %s: %w", dir, err)
	}
	var opts []layout.Option
	if ref != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{LabelRefName: ref}))
	}
	if err := p.AppendIndex(idx, opts...); err != nil {
		return fmt.Errorf("layout %s: %w", dir, err)
	}
	return nil
}

// ReadLayout is the image index a layout written by WriteLayout holds.
func ReadLayout(dir string) (v1.ImageIndex, error) {
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("layout %s: %w", dir, err)
	}
	m, err := top.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("layout %s: %w", dir, err)
	}
	if len(m.Manifests) != 1 || !m.Manifests[0].MediaType.IsIndex() {
		return nil, fmt.Errorf("layout %s: want exactly one image index, found %d manifests", dir, len(m.Manifests))
	}
	idx, err := top.ImageIndex(m.Manifests[0].Digest)
	if err != nil {
		return nil, fmt.Errorf("layout %s: %w", dir, err)
	}
	return idx, nil
}

// PlatformImage is the index's image for p.
func PlatformImage(idx v1.ImageIndex, p v1.Platform) (v1.Image, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range m.Manifests {
		if d.Platform != nil && d.Platform.OS == p.OS && d.Platform.Architecture == p.Architecture && d.Platform.Variant == p.Variant {
			return idx.Image(d.Digest)
		}
	}
	return nil, fmt.Errorf("no image for %s", p.String())
}

// Push writes the index, its images and their blobs to ref (a tag), with
// the credentials of the Docker config ($DOCKER_CONFIG, ~/.docker).
func Push(ctx context.Context, idx v1.ImageIndex, ref string, opts ...remote.Option) (v1.Hash, error) {
	r, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("push %s: %w", ref, err)
	}
	opts = append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}, opts...)
	if err := remote.WriteIndex(r, idx, opts...); err != nil {
		return v1.Hash{}, fmt.Errorf("push %s: %w", ref, err)
	}
	return idx.Digest()
}

// Entry is one entry of an image's filesystem, as its layer lists it.
type Entry struct {
	Path string
	Dir  bool
	Mode int64
	UID  int
	GID  int
	Size int64
}

func (e Entry) String() string {
	kind := "-"
	if e.Dir {
		kind = "d"
	}
	return fmt.Sprintf("%s %04o %d:%d %9d %s", kind, e.Mode, e.UID, e.GID, e.Size, e.Path)
}

// Contents lists an image's filesystem, from its flattened layers.
func Contents(img v1.Image) ([]Entry, error) {
	var out []Entry
	err := Walk(img, func(e Entry, _ []byte) error {
		out = append(out, e)
		return nil
	})
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	return out, err
}

// Sizes is an image's compressed size: manifest, config and layers, what
// a node pulls.
func Sizes(img v1.Image) (int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return 0, err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return 0, err
	}
	total := int64(len(raw)) + m.Config.Size
	for _, l := range m.Layers {
		total += l.Size
	}
	return total, nil
}
