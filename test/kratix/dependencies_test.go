package contract

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/syntasso/kratix/api/v1alpha1"
)

// requirementProblems checks spec.requiredPromises across a set of Promise
// files (name to file contents), as Kratix will resolve them: each entry
// names a Promise of the set, at the version that Promise is labelled with
// (kratix.io/promise-version). At the pin, the promise controller
// (internal/controller/promise_controller.go evaluateRequirement) compares
// the required Promise's status.version, copied from that label, with the
// entry's version, and an empty version never matches a labelled Promise;
// upstream at kratixUpstream (b094a860, PR #856, 2026-07-28) wants a
// PromiseRevision at that version, which Kratix makes from the same label.
// Until a requirement is met, Kratix keeps the requiring Promise
// unavailable and its requests wait; a requirement that can never be met
// (a version no release carries) would keep it so for good.
func requirementProblems(files map[string][]byte) []string {
	byName := map[string]*v1alpha1.Promise{}
	for _, file := range slices.Sorted(mapKeysOf(files)) {
		r := checkPromise(files[file])
		if r.Promise == nil {
			continue // TestPromiseFiles reports it
		}
		byName[r.Promise.GetName()] = r.Promise
	}
	var problems []string
	for _, name := range slices.Sorted(mapKeysOf(byName)) {
		p := byName[name]
		for i, req := range p.Spec.RequiredPromises {
			where := fmt.Sprintf("Promise %s: spec.requiredPromises[%d]", name, i)
			required, ok := byName[req.Name]
			switch {
			case req.Name == name:
				problems = append(problems, fmt.Sprintf("%s: requires itself", where))
			case !ok:
				problems = append(problems, fmt.Sprintf("%s: %q is not a Promise of this repository", where, req.Name))
			case req.Version == "":
				problems = append(problems, fmt.Sprintf("%s: no version (the pinned Kratix never matches an empty version to a labelled Promise)", where))
			case req.Version != required.GetLabels()[v1alpha1.PromiseVersionLabel]:
				problems = append(problems, fmt.Sprintf("%s: requires %s at %q, but that Promise is labelled %s=%q",
					where, req.Name, req.Version, v1alpha1.PromiseVersionLabel, required.GetLabels()[v1alpha1.PromiseVersionLabel]))
			}
		}
	}
	return problems
}

func mapKeysOf[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestRequiredPromises checks the requirements between the repository's
// Promises, and that the ones the promises need are declared: a target
// attaches to an aggregator, so the apiaggregatortarget Promise requires
// the apiaggregator Promise.
func TestRequiredPromises(t *testing.T) {
	root := repoRoot(t)
	list, err := promiseFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, file := range list {
		if files[file], err = os.ReadFile(filepath.Join(root, file)); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range requirementProblems(files) {
		t.Error(p)
	}

	want := map[string][]string{"apiaggregatortarget": {"apiaggregator"}}
	for file, data := range files {
		r := checkPromise(data)
		if r.Promise == nil {
			continue
		}
		var got []string
		for _, req := range r.Promise.Spec.RequiredPromises {
			got = append(got, req.Name)
		}
		if w := want[r.Promise.GetName()]; !slices.Equal(got, w) {
			t.Errorf("%s: requiredPromises %v, want %v", file, got, w)
		}
	}

	// The rule fires.
	bad := map[string][]byte{
		"a": []byte(basePromise),
		"b": []byte(`
apiVersion: platform.kratix.io/v1alpha1
kind: Promise
metadata:
  name: user
  labels: {kratix.io/promise-version: v1.0.0}
spec:
  requiredPromises:
  - {name: thing, version: v1.0.0}
  - {name: thing}
  - {name: nothing, version: v1.0.0}
  - {name: user, version: v1.0.0}
`),
	}
	got := requirementProblems(bad)
	wantProblems := []string{
		`Promise user: spec.requiredPromises[0]: requires thing at "v1.0.0", but that Promise is labelled kratix.io/promise-version=""`,
		`Promise user: spec.requiredPromises[1]: no version (the pinned Kratix never matches an empty version to a labelled Promise)`,
		`Promise user: spec.requiredPromises[2]: "nothing" is not a Promise of this repository`,
		`Promise user: spec.requiredPromises[3]: requires itself`,
	}
	if !slices.Equal(got, wantProblems) {
		t.Errorf("requirementProblems = %q\nwant %q", got, wantProblems)
	}
}
