package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/promisekit/promisekit/internal/ociimage"
)

func TestCommands(t *testing.T) {
	dir := t.TempDir()
	var flags []string
	for _, arch := range []string{"amd64", "arm64"} {
		d := filepath.Join(dir, arch)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "demo"), []byte("stage "+arch), 0o755); err != nil {
			t.Fatal(err)
		}
		flags = append(flags, "-platform", "linux/"+arch+"="+d)
	}
	ctx := context.Background()
	run1 := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, args, &out)
		return out.String(), err
	}
	build := append([]string{"build", "-pipeline", "demo", "-version", "v1.0.0", "-revision", "abc", "-epoch", "1700000000"}, flags...)
	out1, err := run1(append(build, "-out", filepath.Join(dir, "l1"))...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run1(append(build, "-out", filepath.Join(dir, "l2"))...); err != nil {
		t.Fatal(err)
	}
	d1, err := run1("digest", "-layout", filepath.Join(dir, "l1"))
	if err != nil {
		t.Fatal(err)
	}
	d2, _ := run1("digest", "-layout", filepath.Join(dir, "l2"))
	if d1 != d2 || !strings.HasPrefix(d1, "sha256:") || !strings.Contains(out1, strings.TrimSpace(d1)) {
		t.Errorf("two builds: %q and %q; build printed %q", d1, d2, out1)
	}
	ls, err := run1("ls", "-layout", filepath.Join(dir, "l1"))
	if err != nil || !strings.Contains(ls, " /stage") || !strings.Contains(ls, "linux/arm64") {
		t.Errorf("ls: %v\n%s", err, ls)
	}
	rootfs := filepath.Join(dir, "rootfs")
	if _, err := run1("rootfs", "-pipeline", "demo", "-bin", filepath.Join(dir, "amd64"), "-out", rootfs); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(rootfs, "stage")); err != nil || string(data) != "stage amd64" {
		t.Errorf("rootfs /stage: %q, %v", data, err)
	}
	if _, err := os.Stat(filepath.Join(rootfs, strings.TrimPrefix(ociimage.CACertsPath, "/"))); err != nil {
		t.Error(err)
	}

	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	pushed, err := run1("push", "-layout", filepath.Join(dir, "l1"), "-ref", u.Host+"/demo:v1.0.0")
	if err != nil || !strings.HasSuffix(strings.TrimSpace(pushed), "@"+strings.TrimSpace(d1)) {
		t.Errorf("push: %v, %q", err, pushed)
	}

	for _, bad := range [][]string{
		{},
		{"frobnicate"},
		{"build", "-pipeline", "demo"},
		append(append([]string{}, build...), "-out", filepath.Join(dir, "l3"), "-epoch", "yesterday"),
		{"build", "-pipeline", "other", "-out", filepath.Join(dir, "l4"), flags[0], flags[1]},
		{"push", "-layout", filepath.Join(dir, "l1")},
		{"digest", "-layout", filepath.Join(dir, "missing")},
		{"rootfs", "-pipeline", "demo"},
	} {
		if _, err := run1(bad...); err == nil {
			t.Errorf("pkimage %q: no error", bad)
		}
	}
}
