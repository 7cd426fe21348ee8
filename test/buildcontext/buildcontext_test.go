// Package buildcontext_test checks .dockerignore, which decides what `make
// images` (docker build) sends to the builder: nothing secret or built
// (history, the demo's development keys, binaries, rewritten Promise files,
// key files) goes, and everything the Dockerfile builds from does.
package buildcontext_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/promisekit/promisekit/internal/golist"
)

const module = "github.com/promisekit/promisekit"

// ignore is a .dockerignore: its patterns, cleaned as Docker cleans them.
type ignore []string

// readIgnore reads a .dockerignore as Docker does (moby/patternmatcher):
// one pattern a line, "#" comments and blank lines skipped, each pattern
// trimmed, cleaned and made relative to the context's root. Exceptions
// ("!pattern") are refused: this test does not model them.
func readIgnore(t *testing.T, file string) ignore {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var patterns ignore
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "!") {
			t.Fatalf("%s: exception %q: not modelled by this test", file, line)
		}
		p := strings.TrimPrefix(path.Clean(line), "/")
		if _, err := path.Match(strings.ReplaceAll(p, "**", "*"), ""); err != nil {
			t.Fatalf("%s: pattern %q: %v", file, line, err)
		}
		patterns = append(patterns, p)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return patterns
}

// excludes reports whether the context leaves out rel (slash-separated,
// relative to the root): a pattern matches it or one of its parent
// directories. "*" and "?" match within one path element, "**" any number
// of elements.
func (ig ignore) excludes(rel string) bool {
	parts := strings.Split(rel, "/")
	for _, p := range ig {
		pat := strings.Split(p, "/")
		for n := 1; n <= len(parts); n++ {
			if match(pat, parts[:n]) {
				return true
			}
		}
	}
	return false
}

func match(pat, parts []string) bool {
	if len(pat) == 0 {
		return len(parts) == 0
	}
	if pat[0] == "**" {
		for i := 0; i <= len(parts); i++ {
			if match(pat[1:], parts[i:]) {
				return true
			}
		}
		return false
	}
	if len(parts) == 0 {
		return false
	}
	ok, _ := path.Match(pat[0], parts[0])
	return ok && match(pat[1:], parts[1:])
}

// TestNothingSecretInTheBuildContext: what must never reach an image
// build is left out, paths as written and every file now on disk there.
func TestNothingSecretInTheBuildContext(t *testing.T) {
	root := golist.Root(t)
	ig := readIgnore(t, filepath.Join(root, ".dockerignore"))
	for _, rel := range []string{
		".git", ".git/config", ".git/objects/pack/x.pack",
		".demo", ".demo/natsuser/keys/account-signing-key.nk", ".demo/test/sealing/key.pem",
		"bin/natsuser", "bin/environment-aws",
		"dist/natsuser-promise.yaml",
		"promises/natsuser/natsuser.test", "cover.out",
		"sealing-key.pem", "promises/natsuser/tls.key", "user.creds", "operator.nk",
		"kubeconfig", "hack/.env", ".env.local",
	} {
		if !ig.excludes(rel) {
			t.Errorf(".dockerignore lets %s into the build context", rel)
		}
	}
	for _, dir := range []string{".git", ".demo", "bin", "dist"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(root, p)
			if err == nil && !ig.excludes(filepath.ToSlash(rel)) {
				t.Errorf(".dockerignore lets %s into the build context", rel)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestTheBuildStillHasWhatItNeeds: every file the Dockerfile's build reads
// is in the context: go.mod, go.sum, and each Go, assembly and embedded
// file of every package of this module that a pipeline binary links, as
// `go list -deps` reports them for the Dockerfile's build (CGO_ENABLED=0).
func TestTheBuildStillHasWhatItNeeds(t *testing.T) {
	root := golist.Root(t)
	ig := readIgnore(t, filepath.Join(root, ".dockerignore"))
	need := []string{"go.mod", "go.sum", "Dockerfile"}

	out := golist.Deps(t, root, "-json=ImportPath,Dir,GoFiles,SFiles,EmbedFiles,Module", "./pipelines/...")
	dec := json.NewDecoder(strings.NewReader(string(out)))
	packages := 0
	for {
		var pkg struct {
			ImportPath, Dir             string
			GoFiles, SFiles, EmbedFiles []string
			Module                      *struct{ Path string }
		}
		if err := dec.Decode(&pkg); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if pkg.Module == nil || pkg.Module.Path != module {
			continue
		}
		packages++
		dir, err := filepath.Rel(root, pkg.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, list := range [][]string{pkg.GoFiles, pkg.SFiles, pkg.EmbedFiles} {
			for _, f := range list {
				need = append(need, filepath.ToSlash(filepath.Join(dir, f)))
			}
		}
	}
	if packages == 0 {
		t.Fatal("go list found no package of this module under ./pipelines/...")
	}
	for _, rel := range need {
		if ig.excludes(rel) {
			t.Errorf(".dockerignore leaves out %s, which the image build needs", rel)
		}
	}
	t.Logf("%d files of %d packages stay in the context", len(need), packages)
}

// TestTheContextBuilds copies what the build context holds into an empty
// directory, as docker build sends it, and runs the Dockerfile's build
// command there for every pipeline (with the module cache this machine
// has, in place of the Dockerfile's go mod download).
func TestTheContextBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every pipeline")
	}
	root := golist.Root(t)
	ig := readIgnore(t, filepath.Join(root, ".dockerignore"))
	ctx := t.TempDir()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		if ig.excludes(filepath.ToSlash(rel)) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(ctx, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(ctx, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	pipelines, err := os.ReadDir(filepath.Join(ctx, "pipelines"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pipelines {
		if !p.IsDir() {
			continue
		}
		cmd := exec.Command("go", "build", "-trimpath", "-o", t.TempDir()+"/", "./pipelines/"+p.Name()+"/...")
		cmd.Dir = ctx
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false -mod=readonly", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("in the build context, go build ./pipelines/%s/...: %v\n%s", p.Name(), err, out)
		}
	}
}

func TestIgnoreMatching(t *testing.T) {
	ig := ignore{".git", "bin", "**/*.pem", "test/kratix", "docs/*.md"}
	for rel, want := range map[string]bool{
		".git":                 true,
		".git/HEAD":            true,
		".github/workflows/ci": false,
		"bin/x":                true,
		"pkg/bin/x":            false,
		"a.pem":                true,
		"a/b/c.pem":            true,
		"a/b/c.pem.txt":        false,
		"test/kratix/go.mod":   true,
		"test/example/x.go":    false,
		"docs/a.md":            true,
		"docs/sub/a.md":        false,
	} {
		if got := ig.excludes(rel); got != want {
			t.Errorf("excludes(%q) = %v, want %v", rel, got, want)
		}
	}
}
