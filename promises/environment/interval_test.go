package environment

import (
	"os"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
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
	data, err := os.ReadFile("promise.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
		Spec struct {
			Workflows struct {
				Config struct {
					ReconciliationInterval string `json:"reconciliationInterval"`
				} `json:"config"`
			} `json:"workflows"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	declared, err := time.ParseDuration(p.Spec.Workflows.Config.ReconciliationInterval)
	if err != nil {
		t.Fatalf("promise.yaml spec.workflows.config.reconciliationInterval %q: %v", p.Spec.Workflows.Config.ReconciliationInterval, err)
	}
	if declared != reconciliationInterval {
		t.Errorf("promise.yaml re-runs every %s; README.md and this test say %s", declared, reconciliationInterval)
	}
	if declared < time.Minute {
		t.Errorf("reconciliationInterval %s: Kratix refuses less than 1m", declared)
	}
	// The shortest environment outlives its ttl by at most a sixth of it
	// (one interval; two when a run starts late).
	if 6*declared > minTTL {
		t.Errorf("reconciliationInterval %s: the shortest ttl (%s) could be overrun by more than a sixth", declared, minTTL)
	}
	if v, ok := p.Metadata.Annotations["kratix.io/reconciliation-interval"]; ok {
		t.Errorf("promise.yaml sets kratix.io/reconciliation-interval: %q, which overrides spec.workflows.config.reconciliationInterval", v)
	}
}
