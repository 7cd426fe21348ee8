package image

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/promisekit/promisekit/internal/ociimage"
	"github.com/promisekit/promisekit/pkg/overlays"
)

// shells are what no image may hold: any shell, and the tools an attacker
// or a debugging session would reach for.
var shells = []string{"sh", "bash", "ash", "dash", "busybox", "env", "ls", "cat", "wget", "curl"}

// TestImageStructure checks each image as a node would pull it: both
// platforms in one index, one layer, the nonroot user, /stage as
// entrypoint, the OCI labels, nothing but the pipeline's commands (the
// overlay sibling among them), the CA bundle and the user files (listed in
// the log), no shell; and reports each platform's compressed size.
func TestImageStructure(t *testing.T) {
	for _, p := range pipelines(t) {
		t.Run(p, func(t *testing.T) {
			idx := layout(t, p)
			if mt, err := idx.MediaType(); err != nil || mt != types.OCIImageIndex {
				t.Errorf("index media type %s, %v", mt, err)
			}
			m, err := idx.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range m.Manifests {
				got = append(got, d.Platform.String())
			}
			var want []string
			for _, pl := range ociimage.Platforms() {
				want = append(want, pl.String())
			}
			if !slices.Equal(got, want) {
				t.Errorf("platforms %v, want %v", got, want)
			}
			for _, pl := range ociimage.Platforms() {
				img, err := ociimage.PlatformImage(idx, pl)
				if err != nil {
					t.Fatal(err)
				}
				checkImage(t, p, pl, img)
			}
		})
	}
}

func checkImage(t *testing.T, pipeline string, pl v1.Platform, img v1.Image) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != pl.OS || cf.Architecture != pl.Architecture {
		t.Errorf("%s: config says %s/%s", pl, cf.OS, cf.Architecture)
	}
	if cf.Config.User != ociimage.User {
		t.Errorf("%s: user %q, want %q", pl, cf.Config.User, ociimage.User)
	}
	if !slices.Equal(cf.Config.Entrypoint, ociimage.Entrypoint()) || len(cf.Config.Cmd) > 0 {
		t.Errorf("%s: entrypoint %q cmd %q", pl, cf.Config.Entrypoint, cf.Config.Cmd)
	}
	for k, want := range map[string]string{
		ociimage.LabelVersion: testVersion,
		ociimage.LabelSource:  "https://github.com/promisekit/promisekit",
	} {
		if cf.Config.Labels[k] != want {
			t.Errorf("%s: label %s = %q, want %q", pl, k, cf.Config.Labels[k], want)
		}
	}
	if cf.Config.Labels[ociimage.LabelRevision] == "" {
		t.Errorf("%s: no %s label", pl, ociimage.LabelRevision)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Errorf("%s: %d layers, want 1", pl, len(layers))
	}
	entries, err := ociimage.Contents(img)
	if err != nil {
		t.Fatal(err)
	}
	var listing []string
	for _, e := range entries {
		listing = append(listing, e.String())
		base := filepath.Base(e.Path)
		if slices.Contains(shells, base) {
			t.Errorf("%s: the image holds %s", pl, e.Path)
		}
		if e.UID != 0 || e.GID != 0 {
			t.Errorf("%s: %s owned by %d:%d; the user must not own what it runs", pl, e.Path, e.UID, e.GID)
		}
		if e.Mode&0o022 != 0 {
			t.Errorf("%s: %s is writable by group or others (%04o)", pl, e.Path, e.Mode)
		}
		command := strings.HasPrefix(base, pipeline+"-") || base == overlays.SiblingName
		if !e.Dir && e.Path != ociimage.StagePath && !strings.HasPrefix(e.Path, "/etc/") && !command {
			t.Errorf("%s: %s is neither the stage, a command of %s, the overlay sibling nor a file under /etc", pl, e.Path, pipeline)
		}
	}
	for _, must := range []string{ociimage.StagePath, ociimage.CACertsPath, ociimage.PasswdPath, ociimage.GroupPath} {
		if !slices.ContainsFunc(entries, func(e ociimage.Entry) bool { return e.Path == must && !e.Dir }) {
			t.Errorf("%s: no %s", pl, must)
		}
	}
	size, err := ociimage.Sizes(img)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s %s: compressed %.2f MiB; contents:\n  %s", pipeline, pl, float64(size)/(1<<20), strings.Join(listing, "\n  "))
}

// TestRebuildGivesTheSameDigest rebuilds every image in-process from the
// commands found in it, with its labels and creation time, and must get
// the digest `make images` wrote: nothing but the commands, the version,
// the commit and its time goes into a digest.
func TestRebuildGivesTheSameDigest(t *testing.T) {
	for _, p := range pipelines(t) {
		t.Run(p, func(t *testing.T) {
			idx := layout(t, p)
			want, err := idx.Digest()
			if err != nil {
				t.Fatal(err)
			}
			b := ociimage.Build{Pipeline: p, Platforms: ociimage.Platforms()}
			for _, pl := range ociimage.Platforms() {
				img, err := ociimage.PlatformImage(idx, pl)
				if err != nil {
					t.Fatal(err)
				}
				cf, err := img.ConfigFile()
				if err != nil {
					t.Fatal(err)
				}
				b.Meta = ociimage.Meta{Created: cf.Created.Time, Labels: cf.Config.Labels}
				dir := filepath.Join(t.TempDir(), pl.Architecture)
				if err := extractCommands(img, p, dir); err != nil {
					t.Fatal(err)
				}
				b.Dirs = append(b.Dirs, dir)
			}
			again, err := b.Index()
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := again.Digest(); got != want {
				t.Errorf("rebuilt %s, make images wrote %s", got, want)
			}
		})
	}
}

// extractCommands writes an image's commands into dir, the stage under
// the pipeline's name, as `go build -o dir/ ./pipelines/<p>/...` leaves
// them: what the local runner runs directly.
func extractCommands(img v1.Image, pipeline, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return ociimage.Walk(img, func(e ociimage.Entry, data []byte) error {
		if e.Dir || filepath.Dir(e.Path) != "/" {
			return nil
		}
		name := filepath.Base(e.Path)
		if e.Path == ociimage.StagePath {
			name = pipeline
		}
		return os.WriteFile(filepath.Join(dir, name), data, 0o755)
	})
}
