// Package golist runs `go list` for the tests that look at this module's
// own build: which packages a pipeline binary links, which files a build
// reads. It is test-only: no binary may link it (internal/importguard).
package golist

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Module is this module's path.
const Module = "github.com/promisekit/promisekit"

// Root returns the repository's root, found from the test's directory by
// walking up to the go.mod of Module.
func Root(t testing.TB) string {
	t.Helper()
	root, err := FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// FindRoot is Root for code that has no test to fail, such as a TestMain.
func FindRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(data), "module "+Module+"\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of %s above the test's directory", Module)
		}
		dir = parent
	}
}

// Deps runs `go list -deps args...` in root, as `make build` and the
// Dockerfile build (CGO_ENABLED=0), and returns what it printed. A failure
// fails the test with go's own message.
func Deps(t testing.TB, root string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-deps"}, args...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("go list -deps %s: %v\n%s", strings.Join(args, " "), err, exit.Stderr)
		}
		t.Fatal(err)
	}
	return out
}
