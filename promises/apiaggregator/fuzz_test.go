package apiaggregator

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/promisekit/promisekit/pkg/kratix"
)

// FuzzTargetRequest feeds arbitrary request documents through what a
// target's stage does before it touches anything: parsing, strict decoding
// and validation, then the route layout. A request is either refused with
// field errors that each name a spec or metadata field, or laid out into
// routes that hold every prefix once, at most sixteen to a route, under
// names Kubernetes accepts. The seeds are the examples, the hostile corpus
// (testdata/hostile/apiaggregatortarget) and testdata/fuzz/FuzzTargetRequest.
func FuzzTargetRequest(f *testing.F) {
	hostile, _ := filepath.Glob("testdata/hostile/apiaggregatortarget/*.yaml")
	if len(hostile) == 0 {
		f.Fatal("no hostile corpus found to seed from")
	}
	for _, file := range append([]string{"examples/orders.yaml", "examples/legacy-orders.yaml", "examples/invoices.yaml", "testdata/requests/catalog.yaml"}, hostile...) {
		f.Add(readFile(f, file))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, err := kratix.ParseObject(data)
		if err != nil {
			return // not an object: kratix.ReadObject refuses it before the stage runs
		}
		var spec targetSpec
		err = obj.DecodeSpec(&spec)
		if err == nil {
			err = spec.validate(obj.Metadata.Name)
		}
		if err != nil {
			checkFieldErrors(t, err)
			return
		}
		routes := spec.routeLayout(obj.Metadata.Name)
		seen := map[string]bool{}
		for _, r := range routes {
			if !isDNSSubdomain(r.Name) {
				t.Errorf("route name %q is not a DNS subdomain", r.Name)
			}
			if len(r.Rules) == 0 || len(r.Rules) > maxRulesPerRoute {
				t.Errorf("route %s has %d rules", r.Name, len(r.Rules))
			}
			for _, rule := range r.Rules {
				if seen[rule.Prefix] {
					t.Errorf("prefix %q laid out twice", rule.Prefix)
				}
				seen[rule.Prefix] = true
			}
		}
		if len(seen) != len(spec.Paths) {
			t.Errorf("%d prefixes laid out, %d requested", len(seen), len(spec.Paths))
		}
	})
}

// checkFieldErrors requires err to name a field of the request in every
// part, so that the one line Kratix shows tells the user what to fix.
func checkFieldErrors(t *testing.T, err error) {
	t.Helper()
	var fes kratix.FieldErrors
	var fe *kratix.FieldError
	switch {
	case errors.As(err, &fes):
	case errors.As(err, &fe):
		fes = kratix.FieldErrors{fe}
	default:
		// Malformed JSON inside the spec is reported on "spec" by
		// kratix.DecodeStrict without a FieldError.
		if !strings.HasPrefix(err.Error(), "spec: ") {
			t.Fatalf("error %q names no field", err)
		}
		return
	}
	for _, e := range fes {
		if !strings.HasPrefix(e.Field, "spec") && !strings.HasPrefix(e.Field, "metadata.") {
			t.Errorf("field error on %q, not a request field", e.Field)
		}
		if e.Detail == "" {
			t.Errorf("field error on %s says nothing", e.Field)
		}
	}
}
