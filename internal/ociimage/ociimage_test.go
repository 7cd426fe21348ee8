package ociimage

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

var epoch = time.Unix(1764979200, 0).UTC()

func testBuild(t *testing.T, stage string) Build {
	t.Helper()
	var dirs []string
	for _, p := range Platforms() {
		dir := filepath.Join(t.TempDir(), p.Architecture)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range map[string]string{"demo": stage + p.Architecture, "demo-helper": "helper " + p.Architecture} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o700); err != nil {
				t.Fatal(err)
			}
		}
		dirs = append(dirs, dir)
	}
	return Build{Pipeline: "demo", Platforms: Platforms(), Dirs: dirs, Meta: Meta{Created: epoch, Labels: map[string]string{
		LabelSource: "https://example.com/src", LabelRevision: "abc123", LabelVersion: "v1.2.3",
	}}}
}

func TestRootfs(t *testing.T) {
	files, err := Rootfs("demo", map[string][]byte{"demo": []byte("stage"), "demo-helper": []byte("helper")})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range files {
		paths = append(paths, f.Path)
	}
	want := []string{"/demo-helper", GroupPath, PasswdPath, CACertsPath, StagePath}
	if !slices.Equal(paths, want) {
		t.Errorf("paths %v, want %v", paths, want)
	}
	for _, tc := range []struct {
		name     string
		commands map[string][]byte
		want     string
	}{
		{"no stage", map[string][]byte{"other": nil}, "no command named demo"},
		{"clash", map[string][]byte{"demo": nil, "stage": nil}, "clash"},
		{"not a file name", map[string][]byte{"demo": nil, "a/b": nil}, "not a file name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Rootfs("demo", tc.commands); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestPasswdNamesTheUser(t *testing.T) {
	for _, line := range []struct{ file, want string }{
		{passwd, "nonroot:x:65532:65532:"},
		{group, "nonroot:x:65532:"},
	} {
		if !strings.Contains(line.file, "\n"+line.want) {
			t.Errorf("%q lacks %q", line.file, line.want)
		}
	}
}

func TestCABundle(t *testing.T) {
	data := CABundle()
	if !bytes.Equal(data, CABundle()) {
		t.Fatal("two calls give two bundles")
	}
	n := 0
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			if len(bytes.TrimSpace(rest)) > 0 {
				t.Fatal("trailing bytes after the last certificate")
			}
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatalf("certificate %d: %v", n, err)
		}
		if !c.IsCA {
			t.Errorf("%s is not a CA", c.Subject)
		}
		n++
	}
	// NSS holds well over a hundred roots; a near-empty bundle would
	// break every TLS call the stages make.
	if n < 100 {
		t.Errorf("%d roots", n)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		t.Error("crypto/x509 reads none of it")
	}
}

func TestLayerIsReproducibleTar(t *testing.T) {
	files := []File{{Path: "/b/x", Mode: 0o644, Data: []byte("x")}, {Path: "/a", Mode: 0o755, Data: []byte("a")}}
	l1, err := Layer(files, epoch)
	if err != nil {
		t.Fatal(err)
	}
	l2, err := Layer(slices.Clone(files), epoch)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := l1.Digest()
	d2, _ := l2.Digest()
	if d1 != d2 {
		t.Errorf("same files, two digests: %s %s", d1, d2)
	}
	if mt, _ := l1.MediaType(); mt != types.OCILayer {
		t.Errorf("media type %s", mt)
	}
	rc, err := l1.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if !h.ModTime.Equal(epoch) || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: mtime %s, owner %d:%d %q:%q", h.Name, h.ModTime, h.Uid, h.Gid, h.Uname, h.Gname)
		}
	}
	if want := []string{"a", "b/", "b/x"}; !slices.Equal(names, want) {
		t.Errorf("entries %v, want %v (sorted, parents explicit)", names, want)
	}
	if _, err := Layer([]File{{Path: "rel"}}, epoch); err == nil {
		t.Error("a relative path was accepted")
	}
	if _, err := Layer([]File{{Path: "/a"}, {Path: "/a"}}, epoch); err == nil {
		t.Error("a path twice was accepted")
	}
}

func TestBuildIsReproducible(t *testing.T) {
	b := testBuild(t, "stage ")
	i1, err := b.Index()
	if err != nil {
		t.Fatal(err)
	}
	i2, err := testBuild(t, "stage ").Index()
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := i1.Digest()
	d2, _ := i2.Digest()
	if d1 != d2 {
		t.Errorf("two builds of the same commands: %s and %s", d1, d2)
	}
	i3, err := testBuild(t, "changed ").Index()
	if err != nil {
		t.Fatal(err)
	}
	if d3, _ := i3.Digest(); d3 == d1 {
		t.Error("other commands, same digest")
	}
	later := b
	later.Meta.Created = epoch.Add(time.Second)
	i4, err := later.Index()
	if err != nil {
		t.Fatal(err)
	}
	if d4, _ := i4.Digest(); d4 == d1 {
		t.Error("another creation time, same digest")
	}
}

func TestImageConfig(t *testing.T) {
	idx, err := testBuild(t, "stage ").Index()
	if err != nil {
		t.Fatal(err)
	}
	if mt, _ := idx.MediaType(); mt != types.OCIImageIndex {
		t.Errorf("index media type %s", mt)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Annotations[LabelVersion] != "v1.2.3" {
		t.Errorf("index annotations %v", m.Annotations)
	}
	for _, p := range Platforms() {
		img, err := PlatformImage(idx, p)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.OS != p.OS || cf.Architecture != p.Architecture || cf.Config.User != User ||
			!slices.Equal(cf.Config.Entrypoint, []string{"/stage"}) || len(cf.Config.Cmd) != 0 ||
			!cf.Created.Equal(epoch) || cf.Config.Labels[LabelRevision] != "abc123" {
			t.Errorf("%s: config %+v", p.Architecture, cf)
		}
		layers, err := img.Layers()
		if err != nil || len(layers) != 1 {
			t.Fatalf("%d layers, %v", len(layers), err)
		}
		var stage []byte
		err = Walk(img, func(e Entry, data []byte) error {
			if e.Path == StagePath {
				stage = data
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if string(stage) != "stage "+p.Architecture {
			t.Errorf("%s: /stage is %q", p.Architecture, stage)
		}
	}
	if _, err := PlatformImage(idx, v1.Platform{OS: "linux", Architecture: "s390x"}); err == nil {
		t.Error("an image for a platform never built")
	}
}

func TestLayoutRoundTripAndPush(t *testing.T) {
	idx, err := testBuild(t, "stage ").Index()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	if err := WriteLayout(dir, idx, "example.com/demo:v1.2.3"); err != nil {
		t.Fatal(err)
	}
	back, err := ReadLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := idx.Digest()
	if got, _ := back.Digest(); got != want {
		t.Errorf("layout holds %s, wrote %s", got, want)
	}

	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ref := u.Host + "/promisekit/demo:v1.2.3"
	got, err := Push(context.Background(), back, ref)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("pushed %s, want %s", got, want)
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Index(tag)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := pulled.Digest(); d != want {
		t.Errorf("registry serves %s, want %s", d, want)
	}
	img, err := PlatformImage(pulled, Platforms()[1])
	if err != nil {
		t.Fatal(err)
	}
	entries, err := Contents(img)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range entries {
		paths = append(paths, e.Path)
	}
	if !slices.Contains(paths, StagePath) || !slices.Contains(paths, "/demo-helper") {
		t.Errorf("pulled arm64 image holds %v", paths)
	}
	if _, err := Push(context.Background(), back, "not a reference"); err == nil {
		t.Error("pushed to a bad reference")
	}
}

func TestWriteRootfs(t *testing.T) {
	files, err := Rootfs("demo", map[string][]byte{"demo": []byte("stage")})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteRootfs(dir, files); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		fi, err := os.Stat(filepath.Join(dir, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		if int64(fi.Mode().Perm()) != f.Mode {
			t.Errorf("%s: mode %o, want %o", f.Path, fi.Mode().Perm(), f.Mode)
		}
	}
}

func TestParsePlatform(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want v1.Platform
		ok   bool
	}{
		{"linux/amd64", v1.Platform{OS: "linux", Architecture: "amd64"}, true},
		{"linux/arm/v7", v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, true},
		{"linux", v1.Platform{}, false},
		{"/amd64", v1.Platform{}, false},
		{"a/b/c/d", v1.Platform{}, false},
	} {
		got, err := ParsePlatform(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got.String() != tc.want.String()) {
			t.Errorf("ParsePlatform(%q) = %v, %v", tc.in, got, err)
		}
	}
}
