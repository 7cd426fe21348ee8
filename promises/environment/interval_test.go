package environment

import (
	"testing"
	"time"

	"github.com/promisekit/promisekit/internal/kratixsim"
)

// reconciliationInterval is promise.yaml's
// spec.workflows.config.reconciliationInterval: an expired environment is
// deleted by the first run at or after its expiry, so this is how long an
// environment can outlive its ttl (plus the run, and another interval if
// the run starts late).
const reconciliationInterval = 10 * time.Minute

// TestReconciliationInterval: the Promise sets its own re-run interval
// (Kratix's default is 10h, ten times the shortest ttl), small against the
// shortest ttl, and nothing in the file overrides it.
func TestReconciliationInterval(t *testing.T) {
	declared, err := kratixsim.ReconciliationInterval("promise.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if declared != reconciliationInterval {
		t.Errorf("Kratix re-runs an Environment every %s; README.md and this test say %s", declared, reconciliationInterval)
	}
	// The shortest environment outlives its ttl by at most a sixth of it
	// (one interval; two when a run starts late).
	if 6*declared > minTTL {
		t.Errorf("reconciliationInterval %s: the shortest ttl (%s) could be overrun by more than a sixth", declared, minTTL)
	}
}
