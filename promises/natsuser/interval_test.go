package natsuser

import (
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/crdcheck"
	"github.com/promisekit/promisekit/internal/kratixsim"
)

// TestReconciliationInterval: the stage cannot read its Promise at run
// time, so ReconciliationInterval must be what Kratix makes of
// promise.yaml (an annotation would win over the field, and Kratix's
// default, 10h, would outlast every renewal window).
func TestReconciliationInterval(t *testing.T) {
	declared, err := kratixsim.ReconciliationInterval("promise.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if declared != ReconciliationInterval {
		t.Errorf("Kratix re-runs a NATSUser every %s, the stage assumes %s (ReconciliationInterval)", declared, ReconciliationInterval)
	}

	// The rule's own arithmetic.
	if minRenewBefore != renewalIntervals*ReconciliationInterval || renewalIntervals < 2 {
		t.Errorf("minRenewBefore %s is not %d (at least 2) re-run intervals of %s", minRenewBefore, renewalIntervals, ReconciliationInterval)
	}
	if minRenewBefore >= minLifetime {
		t.Errorf("minRenewBefore %s leaves no renewal window for the shortest lifetime %s", minRenewBefore, minLifetime)
	}
	if DefaultRenewBefore < minRenewBefore || DefaultRenewBefore >= DefaultLifetime {
		t.Errorf("the default renewal window %s is outside [%s, %s)", DefaultRenewBefore, minRenewBefore, DefaultLifetime)
	}
}

// TestRenewalWindowHoldsReruns replays Kratix's schedule against the
// smallest renewal window: a run every interval after the previous one
// ended, each taking the whole run budget (2m), with the credentials
// renewed by the first run inside the window. However the schedule falls
// against the expiry, and even when every run starts a whole interval late
// (a requeue that fires just before the interval is up), the window holds
// at least two runs, so one failed run is survived.
func TestRenewalWindowHoldsReruns(t *testing.T) {
	const runTime = defaultTimeout
	for _, late := range []bool{false, true} {
		gap := ReconciliationInterval + runTime
		if late {
			gap += ReconciliationInterval
		}
		fewest := -1
		// Every phase of the schedule against the window, by the second.
		for phase := time.Duration(0); phase < gap; phase += time.Second {
			runs := 0
			for start := phase; start < minRenewBefore; start += gap {
				runs++
			}
			if fewest < 0 || runs < fewest {
				fewest = runs
			}
		}
		if fewest < 2 {
			t.Errorf("runs %s apart (late: %v): a %s window holds only %d run(s)", gap, late, minRenewBefore, fewest)
		}
		t.Logf("runs %s apart (late: %v): at least %d runs in the %s renewal window", gap, late, fewest, minRenewBefore)
	}
}

// TestCRDAgreesWithGo compares the rules promise.yaml's CRD states with the
// stage's own: the patterns (subjectRE, durationRE), the bounds, and the
// renewal window's minimum. TestSpecValidation runs requests through both;
// this test keeps the texts themselves from drifting apart.
func TestCRDAgreesWithGo(t *testing.T) {
	data, err := os.ReadFile("promise.yaml")
	if err != nil {
		t.Fatal(err)
	}
	crdYAML, err := crdcheck.PromiseCRD(data)
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(crdYAML, &crd); err != nil {
		t.Fatal(err)
	}
	spec := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
	prop := func(path ...string) apiextensionsv1.JSONSchemaProps {
		s := spec
		for _, p := range path {
			if p == "[]" {
				s = *s.Items.Schema
				continue
			}
			next, ok := s.Properties[p]
			if !ok {
				t.Fatalf("the CRD has no spec.%s", strings.Join(path, "."))
			}
			s = next
		}
		return s
	}

	for _, list := range [][]string{{"publish", "allow"}, {"publish", "deny"}, {"subscribe", "allow"}, {"subscribe", "deny"}} {
		where := "spec." + strings.Join(list, ".")
		l := prop(list...)
		if l.MaxItems == nil || *l.MaxItems != maxSubjects {
			t.Errorf("%s: maxItems %v, the stage allows %d", where, l.MaxItems, maxSubjects)
		}
		item := prop(append(list, "[]")...)
		if item.Pattern != subjectRE.String() {
			t.Errorf("%s[]: pattern %q, the stage's subjectRE is %q", where, item.Pattern, subjectRE.String())
		}
		if item.MaxLength == nil || *item.MaxLength != maxSubjectLength {
			t.Errorf("%s[]: maxLength %v, the stage allows %d", where, item.MaxLength, maxSubjectLength)
		}
	}
	for _, d := range [][]string{{"responses", "ttl"}, {"credentials", "lifetime"}, {"credentials", "renewBefore"}} {
		if got := prop(d...).Pattern; got != durationRE.String() {
			t.Errorf("spec.%s: pattern %q, the stage's durationRE is %q", strings.Join(d, "."), got, durationRE.String())
		}
	}
	if m := prop("responses", "maxMessages").Maximum; m == nil || *m != maxResponseMessages {
		t.Errorf("spec.responses.maxMessages: maximum %v, the stage allows %d", m, maxResponseMessages)
	}

	// The credentials' CEL rules state the same bounds as the stage.
	rules := map[string]string{}
	for _, r := range prop("credentials").XValidations {
		rules[r.Rule] = r.Message
	}
	wantRules := []string{
		fmt.Sprintf("duration(self.lifetime) >= duration('%s') && duration(self.lifetime) <= duration('%s')", formatDuration(minLifetime), formatDuration(maxLifetime)),
		fmt.Sprintf("duration(self.renewBefore) >= duration('%s')", formatDuration(minRenewBefore)),
		"duration(self.renewBefore) < duration(self.lifetime)",
	}
	for _, want := range wantRules {
		if _, ok := rules[want]; !ok {
			t.Errorf("spec.credentials: no CEL rule %q (the stage's bounds); the CRD has %q", want, slices.Sorted(maps.Keys(rules)))
		}
	}
	minimum := regexp.MustCompile(`^duration\(self\.renewBefore\) >= duration\('([^']*)'\)$`)
	for rule, msg := range rules {
		if m := minimum.FindStringSubmatch(rule); m != nil && !strings.Contains(msg, m[1]) {
			t.Errorf("spec.credentials: the message of %q does not name its minimum: %q", rule, msg)
		}
	}
	renew := prop("credentials", "renewBefore")
	for _, s := range []string{formatDuration(minRenewBefore), formatDuration(ReconciliationInterval)} {
		if !strings.Contains(renew.Description, s) {
			t.Errorf("spec.credentials.renewBefore: the description does not mention %s: %q", s, renew.Description)
		}
	}
}
