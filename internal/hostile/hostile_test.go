package hostile_test

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/promisekit/promisekit/internal/hostile"
	"github.com/promisekit/promisekit/internal/kratixsim"
	"github.com/promisekit/promisekit/internal/localrun/localapi"
	"github.com/promisekit/promisekit/internal/stagetest"
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/promises/apiaggregator"
	"github.com/promisekit/promisekit/promises/environment"
	"github.com/promisekit/promisekit/promises/natsuser"
	"github.com/promisekit/promisekit/test/example"
)

// root is the repository, from this package's directory.
const root = "../.."

func TestEveryPromiseHasACorpus(t *testing.T) {
	// corpora maps every Promise file in the repository to its hostile
	// corpus (testdata/hostile/<promise> beside the promise's package, run
	// by the hostile_test.go there).
	corpora := map[string]string{
		"promises/apiaggregator/apiaggregator-promise.yaml":       "promises/apiaggregator/testdata/hostile/apiaggregator",
		"promises/apiaggregator/apiaggregatortarget-promise.yaml": "promises/apiaggregator/testdata/hostile/apiaggregatortarget",
		"promises/environment/promise.yaml":                       "promises/environment/testdata/hostile/environment",
		"promises/natsuser/promise.yaml":                          "promises/natsuser/testdata/hostile/natsuser",
		"test/example/promise.yaml":                               "test/example/testdata/hostile/greeting",
	}
	// pending are Promises whose corpus is still to be written, and why.
	// To add one: write its requests under
	// promises/<p>/testdata/hostile/<promise>/ and a
	// promises/<p>/hostile_test.go that calls hostile.Run with a table for
	// them (see natsuser's), then move the entry to corpora.
	pending := map[string]string{}
	files, err := filepath.Glob(filepath.Join(root, "promises", "*", "*promise.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join(root, "test", "example", "promise.yaml"))
	found := map[string]bool{}
	for _, f := range files {
		rel, err := filepath.Rel(root, f)
		if err != nil {
			t.Fatal(err)
		}
		rel = filepath.ToSlash(rel)
		found[rel] = true
		dir, ok := corpora[rel]
		if _, waiting := pending[rel]; waiting {
			if ok {
				t.Errorf("%s is in both corpora and pending", rel)
			}
			t.Logf("%s: no hostile corpus yet: %s", rel, pending[rel])
			continue
		}
		if !ok {
			t.Errorf("%s has no hostile corpus: add testdata/hostile/<promise> beside its package and a hostile_test.go that runs it, then list it in corpora", rel)
			continue
		}
		yamls, _ := filepath.Glob(filepath.Join(root, dir, "*.yaml"))
		if len(yamls) == 0 {
			t.Errorf("%s: no requests in %s", rel, dir)
		}
		if _, err := os.Stat(filepath.Join(root, filepath.Dir(filepath.Dir(filepath.Dir(dir))), "hostile_test.go")); err != nil {
			t.Errorf("%s: nothing runs %s: %v", rel, dir, err)
		}
	}
	for _, rel := range slices.Sorted(maps.Keys(corpora)) {
		if !found[rel] {
			t.Errorf("corpora lists %s, which does not exist", rel)
		}
	}
	for _, rel := range slices.Sorted(maps.Keys(pending)) {
		if !found[rel] {
			t.Errorf("pending lists %s, which does not exist", rel)
		}
	}
}

// stageVariable makes this test binary a stage binary: TestMain runs the
// stage it names with kratix.Main, as pipelines/<p>/main.go does.
const stageVariable = "PROMISEKIT_HOSTILE_STAGE"

func TestMain(m *testing.M) {
	switch os.Getenv(stageVariable) {
	case "":
		os.Exit(m.Run())
	case "apiaggregator":
		kratix.Main("apiaggregator", apiaggregator.Workflows(localapi.Connect))
	case "natsuser":
		kratix.Main("natsuser", natsuser.Workflows(natsuser.Outside{}))
	case "environment":
		// The lean binary's stage, without its hand-over to
		// environment-aws: no input here gets as far as needing it.
		kratix.Main("environment", environment.Workflows(environment.Outside{}))
	case "example":
		kratix.Main("example", example.Workflows(example.Outside{}))
	default:
		os.Exit(3)
	}
}

// TestBinaryRefuses runs hostile requests through a stage process as
// Kratix runs one (kratix.Main, as each pipelines/<p>/main.go calls it,
// with Kratix's environment and nothing else): it must exit 1, print
// nothing on stdout and one line on stderr, "<stage>: " and what names
// the problem, and leave the output and metadata of an earlier run as they
// were.
func TestBinaryRefuses(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	type input struct {
		name, file string // a corpus file, or
		generate   func(t *testing.T, base []byte) []byte
		stage      string // how stderr goes on after "<stage>: "
	}
	// Generated inputs, refused by kratix.ParseObject for every promise.
	generic := []input{
		{name: "billion laughs", generate: func(t *testing.T, base []byte) []byte {
			return hostile.With(t, base, "spec.lols", hostile.AliasBomb(9, 10))
		}, stage: "input object: YAML anchors and aliases are not allowed"},
		{name: "several MiB", generate: func(t *testing.T, base []byte) []byte {
			return hostile.Fill(t, base, "spec.bulk", "1", 4<<20)
		}, stage: "input object: larger than"},
		{name: "too deep", generate: func(t *testing.T, base []byte) []byte {
			return hostile.With(t, base, "spec.deep", hostile.Nested(10001))
		}, stage: "input object: yaml: line …: exceeded max depth of 10000"},
		{name: "two documents", generate: func(t *testing.T, base []byte) []byte {
			return append(append(bytes.Clone(base), "---\n"...), base...)
		}, stage: "input object: 2 YAML documents"},
	}
	promises := []struct {
		stage, promise, example, corpus string
		inputs                          []input
	}{
		{"apiaggregator", "promises/apiaggregator/apiaggregatortarget-promise.yaml", "promises/apiaggregator/examples/orders.yaml", "promises/apiaggregator/testdata/hostile/apiaggregatortarget", []input{
			{file: "traversal-name.yaml", stage: "metadata.name: must be a DNS subdomain"},
			{file: "duplicate-paths.yaml", stage: `spec.paths[2].prefix: "/orders" is already spec.paths[0].prefix`},
			{file: "duplicate-key.yaml", stage: `input object: yaml: unmarshal errors:; line 14: key "port" already set in map`},
		}},
		{"natsuser", "promises/natsuser/promise.yaml", "promises/natsuser/examples/orders-api.yaml", "promises/natsuser/testdata/hostile/natsuser", []input{
			{file: "traversal-name.yaml", stage: "metadata.name: must be a DNS subdomain"},
			{file: "traversal-secret-key.yaml", stage: "spec.secret.key: must be a Secret key"},
			{file: "wrong-kind.yaml", stage: `input object: kind "NATSAccount" is not NATSUser`},
		}},
		{"environment", "promises/environment/promise.yaml", "promises/environment/examples/preview.yaml", "promises/environment/testdata/hostile/environment", []input{
			{file: "traversal-name.yaml", stage: "metadata.name: must be a DNS subdomain"},
			{file: "ttl-overflow.yaml", stage: "spec.ttl: 213505d is longer than this platform allows (720h)"},
			{file: "wrong-kind.yaml", stage: `input object: kind "EnvironmentType" is not Environment`},
		}},
		{"example", "test/example/promise.yaml", "test/example/examples/greeting.yaml", "test/example/testdata/hostile/greeting", []input{
			{file: "confusable-name.yaml", stage: "metadata.name: must be a DNS subdomain"},
			{file: "long-greeting.yaml", stage: "spec.greeting: must be at most 64 characters, not 65"},
			{file: "list.yaml", stage: "input object: the document is a list, not an object"},
		}},
	}
	for _, p := range promises {
		base := readFile(t, filepath.Join(root, p.example))
		wf, err := kratixsim.ReadWorkflow(filepath.Join(root, p.promise), kratix.ActionConfigure)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range append(p.inputs, generic...) {
			t.Run(p.stage+"/"+cmp.Or(in.name, in.file), func(t *testing.T) {
				data := []byte(nil)
				if in.file != "" {
					data = readFile(t, filepath.Join(root, p.corpus, in.file))
				} else {
					data = in.generate(t, base)
				}
				// The harness only lays out the Pod and the environment:
				// the process runs the stage, not the harness.
				h := stagetest.New(t, p.stage, kratix.Workflows{}, wf, base)
				// Not the default configuration path: a machine running
				// the tests may have one.
				delete(h.Env, kratix.ConfigVariable)
				dirs := h.PodDirs()
				earlier := map[string]string{
					filepath.Join(dirs.OutputDir, "configmap_team_earlier.yaml"):       "kind: ConfigMap\n",
					filepath.Join(dirs.MetadataDir, "status.yaml"):                     "message: earlier\n",
					filepath.Join(dirs.MetadataDir, ".promisekit", p.stage+".outputs"): `["configmap_team_earlier.yaml"]`,
				}
				for file, content := range earlier {
					if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				output := stagetest.ReadTree(t, dirs.OutputDir)
				metadata := stagetest.ReadTree(t, dirs.MetadataDir)

				cmd := h.CommandInput(context.Background(), kratix.ActionConfigure, dirs, self, data)
				cmd.Env = append(cmd.Env, stageVariable+"="+p.stage)
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				err := cmd.Run()

				var exit *exec.ExitError
				if !errors.As(err, &exit) || exit.ExitCode() != 1 {
					t.Errorf("exit: %v, want status 1", err)
				}
				if stdout.Len() > 0 {
					t.Errorf("stdout: %q, want nothing", stdout.String())
				}
				line, rest, _ := strings.Cut(stderr.String(), "\n")
				if rest != "" || !strings.HasSuffix(stderr.String(), "\n") {
					t.Errorf("stderr is not one line: %q", stderr.String())
				}
				if want := p.stage + ": " + in.stage; !hostile.Matches(line, want) {
					t.Errorf("stderr %q, want %q", line, want)
				}
				if now := stagetest.ReadTree(t, dirs.OutputDir); !maps.EqualFunc(output, now, bytes.Equal) {
					t.Errorf("the refused run changed the output: %q", slices.Sorted(maps.Keys(now)))
				}
				if now := stagetest.ReadTree(t, dirs.MetadataDir); !maps.EqualFunc(metadata, now, bytes.Equal) {
					t.Errorf("the refused run changed the metadata: %q", slices.Sorted(maps.Keys(now)))
				}
				h.Collect(dirs) // the leak scan every run gets
			})
		}
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
