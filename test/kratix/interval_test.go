package contract

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/syntasso/kratix/lib/resourceutil"
	"sigs.k8s.io/yaml"
)

// reconciliationIntervalAnnotation overrides a Promise's
// spec.workflows.config.reconciliationInterval (upstream at kratixUpstream:
// api/v1alpha1/promiserevision_types.go ReconciliationIntervalAnnotation;
// the pinned module does not know it).
const reconciliationIntervalAnnotation = "kratix.io/reconciliation-interval"

// TestReconciliationIntervals: where a Promise sets its re-run interval,
// its stage may depend on it (natsuser's smallest renewal window is six
// intervals; promises/natsuser/interval_test.go checks the stage's
// constant against the file). The annotation would silently override the
// field, so no Promise of this repository carries it; a platform that adds
// it takes the consequences the promise READMEs describe.
func TestReconciliationIntervals(t *testing.T) {
	root := repoRoot(t)
	files, err := promiseFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(filepath.Join(root, file))
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
						ReconciliationInterval *string `json:"reconciliationInterval"`
					} `json:"config"`
				} `json:"workflows"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(data, &p); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if v, ok := p.Metadata.Annotations[reconciliationIntervalAnnotation]; ok {
			t.Errorf("%s: metadata.annotations[%s] = %q overrides spec.workflows.config.reconciliationInterval in Kratix; set the field instead", file, reconciliationIntervalAnnotation, v)
		}
		if iv := p.Spec.Workflows.Config.ReconciliationInterval; iv != nil {
			// The value's own rules are newerFields' (checked by
			// TestPromiseFiles); here, only what it means.
			if d, err := time.ParseDuration(*iv); err == nil {
				t.Logf("%s: re-run %s after each run (Kratix's default: 10h)", file, d)
			}
		} else {
			t.Logf("%s: re-run on Kratix's global interval (10h by default)", file)
		}
	}
}

// TestManualReconciliationLabel: the label the READMEs tell a team to set
// to force a run is the one Kratix watches (it also sets it itself when
// the interval has passed, and removes it once the run starts).
func TestManualReconciliationLabel(t *testing.T) {
	const documented = "kratix.io/manual-reconciliation"
	if resourceutil.ManualReconciliationLabel != documented {
		t.Errorf("Kratix's manual reconciliation label is %q; README.md documents %q", resourceutil.ManualReconciliationLabel, documented)
	}
	root := repoRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(readme, []byte(documented+"=true")) {
		t.Errorf("README.md does not show how to set %s=true", documented)
	}
}
