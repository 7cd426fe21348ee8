// Package overlaytest is test- and bench-only: the platform overlay
// examples of a promise's README, read from the README itself so that the
// text a platform team copies and the tests and benchmarks that run it
// cannot drift apart.
//
// An example is a fenced ```yaml block right after a line
//
//	<!-- overlay: 10-labels.yml -->
//
// naming the file the block is, as a key of the promisekit-overlays
// ConfigMap.
package overlaytest

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"testing"

	"sigs.k8s.io/yaml"
)

// Example is one overlay file shown in a README.
type Example struct {
	Name string // the ConfigMap key, e.g. 10-labels.yml
	Body string
}

var exampleRE = regexp.MustCompile("(?m)^<!-- overlay: ([A-Za-z0-9._-]+) -->\\n```yaml\\n((?s:.*?))^```$")

// Examples returns the overlay examples of the README at path, by name;
// it fails the test when there are none or a name repeats.
func Examples(t testing.TB, path string) map[string]Example {
	t.Helper()
	out, err := ReadExamples(path)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ReadExamples is Examples for code that has no test to fail: the
// benchmark's overlay scenarios time the READMEs' own examples.
func ReadExamples(path string) (map[string]Example, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]Example{}
	for _, m := range exampleRE.FindAllStringSubmatch(string(data), -1) {
		if _, dup := out[m[1]]; dup {
			return nil, fmt.Errorf("%s: overlay example %s appears twice", path, m[1])
		}
		out[m[1]] = Example{Name: m[1], Body: m[2]}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s has no overlay examples (<!-- overlay: NAME --> before a ```yaml block)", path)
	}
	return out, nil
}

// Dir writes examples into a directory laid out as the kubelet mounts a
// ConfigMap (each key a link into ..data, which links to a timestamped
// directory) and returns its path.
func Dir(t testing.TB, examples ...Example) string {
	t.Helper()
	dir := t.TempDir()
	stamp := "..2026_12_06_00_00_00.000000001"
	if err := os.Mkdir(filepath.Join(dir, stamp), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range examples {
		if err := os.WriteFile(filepath.Join(dir, stamp, e.Name), []byte(e.Body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join("..data", e.Name), filepath.Join(dir, e.Name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(stamp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Config is a platform configuration with `overlays:` naming dir added.
func Config(base, dir string) string {
	if base != "" && base[len(base)-1] != '\n' {
		base += "\n"
	}
	return base + "overlays: " + dir + "\n"
}

// Compare checks the output of a run with overlays against the same run
// without: the same files, and each document equal to the one without
// once undo has taken out what the overlays are expected to add (undo
// fails the test when it is not there). So an overlay that changed
// anything else is caught, whatever the stage writes.
func Compare(t testing.TB, without, with map[string][]byte, undo func(t testing.TB, name string, doc map[string]any)) {
	t.Helper()
	if a, b := slices.Sorted(maps.Keys(without)), slices.Sorted(maps.Keys(with)); !slices.Equal(a, b) {
		t.Errorf("files with overlays %v, without %v", b, a)
		return
	}
	for name, data := range with {
		var got, want map[string]any
		if err := yaml.Unmarshal(data, &got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := yaml.Unmarshal(without[name], &want); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		undo(t, name, got)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the overlays changed more than expected:\n%s\nwithout overlays:\n%s", name, data, without[name])
		}
	}
}

// Take removes the value at path (map keys) from doc and returns it, nil
// when absent; maps left empty on the way are removed too, as they were
// before the overlay added to them.
func Take(doc map[string]any, path ...string) any {
	if len(path) == 0 {
		return nil
	}
	v, ok := doc[path[0]]
	if !ok {
		return nil
	}
	if len(path) == 1 {
		delete(doc, path[0])
		return v
	}
	child, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	out := Take(child, path[1:]...)
	if len(child) == 0 {
		delete(doc, path[0])
	}
	return out
}
