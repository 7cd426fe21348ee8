package image

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/promisekit/promisekit/internal/golist"
	"github.com/promisekit/promisekit/internal/ociimage"
)

// shimVariable names the shim's configuration file: set, the test binary
// is not a test but a pipeline image run with runc (shim_test.go).
const shimVariable = "PKIMAGE_SHIM"

// built is what `make images` wrote for the tests: set once by TestMain,
// read by every test.
var built struct {
	dist string // the DIST directory: images/<p>/ are the layouts
	err  error
}

// testVersion is the version the test images carry.
const testVersion = "v0.0.0-imagetest"

func TestMain(m *testing.M) {
	if cfg := os.Getenv(shimVariable); cfg != "" {
		os.Exit(shim(cfg))
	}
	tmp, err := os.MkdirTemp("", "pkimage-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	built.dist = filepath.Join(tmp, "dist")
	built.err = makeImages(built.dist)
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

// makeImages runs `make images` as a developer or CI does, into dist.
func makeImages(dist string) error {
	root, err := golist.FindRoot()
	if err != nil {
		return err
	}
	cmd := exec.Command("make", "-s", "images", "DIST="+dist, "VERSION="+testVersion)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("make images: %v\n%s", err, out)
	}
	return nil
}

// pipelines are the image names: every directory under pipelines/.
func pipelines(t *testing.T) []string {
	t.Helper()
	root := golist.Root(t)
	entries, err := os.ReadDir(filepath.Join(root, "pipelines"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		t.Fatal("no pipelines")
	}
	return names
}

// layout is the image index `make images` wrote for a pipeline.
func layout(t *testing.T, pipeline string) v1.ImageIndex {
	t.Helper()
	if built.err != nil {
		t.Fatal(built.err)
	}
	idx, err := ociimage.ReadLayout(filepath.Join(built.dist, "images", pipeline))
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

// hostPlatform is the platform runc runs here.
func hostPlatform(t *testing.T) v1.Platform {
	t.Helper()
	for _, p := range ociimage.Platforms() {
		if p.Architecture == runtime.GOARCH {
			return p
		}
	}
	t.Fatalf("no image is built for this machine's architecture %s", runtime.GOARCH)
	return v1.Platform{}
}

// ociimageHost is a pipeline's image for this machine's platform.
func ociimageHost(t *testing.T, pipeline string) (v1.Image, error) {
	t.Helper()
	return ociimage.PlatformImage(layout(t, pipeline), hostPlatform(t))
}

func modeString(mode int64) string { return fmt.Sprintf("%04o", mode) }

func digestOf(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
