package environment

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/promisekit/promisekit/pkg/kratix"

	"github.com/promisekit/promisekit/internal/stagetest"
)

// TestHandOver: the binary built without the AWS SDK and an HTTP client
// (pipelines/environment) hands over exactly when a run needs one, before
// writing anything; otherwise it does the whole run itself.
func TestHandOver(t *testing.T) {
	expired := time.Date(2026, 11, 9, 0, 0, 0, 0, time.UTC) // past every example's lifetime
	tests := []struct {
		name    string
		config  string // a file, "" for the defaults
		request string
		now     time.Time
		wantWhy string // "" when the run must not hand over
	}{
		{name: "ack mode", config: "examples/platform/ack.yaml", request: "examples/development.yaml"},
		{name: "AWS mode none", request: "examples/preview.yaml"},
		{name: "api mode", config: "examples/platform/api.yaml", request: "examples/preview.yaml", wantWhy: "the AWS SDK"},
		{name: "expired, ack mode", config: "examples/platform/ack.yaml", request: "examples/preview.yaml", now: expired, wantWhy: "an HTTP client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			handOvers := 0
			lean := Outside{HandOver: func() error {
				handOvers++
				return errors.New("no environment-aws here")
			}}
			h := stagetest.New(t, "environment", Workflows(lean), configureWorkflow, request(t, tt.request, nil))
			h.Env[kratix.ConfigVariable] = stagetest.EmptyConfig(t)
			if tt.config != "" {
				h.Env[kratix.ConfigVariable], _ = filepath.Abs(tt.config)
			}
			if !tt.now.IsZero() {
				h.Now = tt.now
			}
			out := h.Configure(context.Background())
			if tt.wantWhy == "" {
				if out.Err != nil || handOvers != 0 {
					t.Fatalf("err = %v after %d hand-overs, want a run of its own", out.Err, handOvers)
				}
				return
			}
			if handOvers != 1 {
				t.Errorf("%d hand-overs, want 1", handOvers)
			}
			if out.Err == nil || !strings.Contains(out.Err.Error(), "built without "+tt.wantWhy) || !strings.Contains(out.Err.Error(), "no environment-aws here") {
				t.Errorf("err = %v, want it to name %s and the failed start", out.Err, tt.wantWhy)
			}
			if len(out.Files) != 0 {
				t.Errorf("wrote %d files before handing over", len(out.Files))
			}
			if out.StatusYAML != nil {
				t.Error("wrote a status before handing over")
			}
		})
	}
}
