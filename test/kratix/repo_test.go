package contract

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// rootModule is the module path of the repository root, which this module
// must never import.
const rootModule = "github.com/promisekit/promisekit"

// repoRoot returns the repository root: the directory above this module
// whose go.mod declares the root module.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatalf("repository root: %v", err)
	}
	if !bytes.HasPrefix(gomod, []byte("module "+rootModule+"\n")) {
		t.Fatalf("%s/go.mod does not declare module %s", root, rootModule)
	}
	return root
}

// buildCommand builds the root module's package pkg (e.g. ./cmd/kratix-run)
// into dir and returns the binary's path. It builds as the Makefile does,
// statically.
func buildCommand(t testing.TB, root, pkg, dir string) string {
	t.Helper()
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, msg)
	}
	return out
}

// runBinary runs bin with exactly env (no inherited environment, as in a
// Pod) and fails the test on a non-zero exit.
func runBinary(t testing.TB, bin string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}
