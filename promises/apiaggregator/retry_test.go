package apiaggregator

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestTargetWaitsForItsAggregator: on a Kratix with workflow control, a
// target applied before its aggregator is not a failure: it writes no
// output, asks Kratix to retry after a wait that grows, says so in its
// status, and converges once the aggregator is configured.
func TestTargetWaitsForItsAggregator(t *testing.T) {
	p := newPlatform(t, "kratix: {workflowControl: true}\n")
	orders := p.request(readFile(t, "examples/orders.yaml"))
	for i, want := range []string{"30s", "1m0s"} {
		out := orders.Configure(context.Background())
		if out.Err != nil {
			t.Fatalf("run %d failed: %v", i+1, out.Err)
		}
		if len(out.Files) != 0 {
			t.Fatalf("run %d wrote %d files while waiting", i+1, len(out.Files))
		}
		data, err := os.ReadFile(filepath.Join(out.Dirs.MetadataDir, "workflow-control.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var control struct {
			RetryAfter string `json:"retryAfter"`
			Message    string `json:"message"`
		}
		if err := yaml.UnmarshalStrict(data, &control); err != nil {
			t.Fatal(err)
		}
		if control.RetryAfter != want || !strings.Contains(control.Message, "ApiAggregator platform/portal does not exist (yet)") {
			t.Errorf("run %d: workflow control %+v, want a retry after %s naming the aggregator", i+1, control, want)
		}
		if msg, _ := orders.Status()["message"].(string); !strings.Contains(msg, "next in "+want) {
			t.Errorf("run %d: status.message %q", i+1, msg)
		}
		p.store(orders)
	}

	p.configure(p.request(readFile(t, "examples/portal.yaml")))
	out := p.configure(orders)
	if len(out.Files) == 0 {
		t.Fatal("the target wrote nothing once its aggregator was configured")
	}
	if _, err := os.Stat(filepath.Join(out.Dirs.MetadataDir, "workflow-control.yaml")); !os.IsNotExist(err) {
		t.Errorf("a run that went through left workflow control: %v", err)
	}
	if retry, ok := orders.Status()["retry"]; !ok || retry != nil {
		t.Errorf("status.retry %v, want null once the target converged", retry)
	}
}
