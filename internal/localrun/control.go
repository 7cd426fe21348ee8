package localrun

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/pkg/kratix"
)

// readWorkflowControl reads /kratix/metadata/workflow-control.yaml as
// Kratix reads it (syntasso/kratix ae170e22, work-creator/lib/
// workflow_control.go and work-creator/cmd/update_status.go): an absent
// file is none; RetryAfter, a Go duration, wins over Suspend; either one
// stops the workflow with no Work written, after the status is merged. It
// returns nil when the pipeline wrote nothing that stops the workflow.
func readWorkflowControl(metadataDir string) (*kratix.Control, error) {
	data, err := os.ReadFile(filepath.Join(metadataDir, "workflow-control.yaml"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var c kratix.Control
	if err := yaml.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("workflow-control.yaml: %w", err)
	}
	if c.RetryAfter != "" {
		if _, err := time.ParseDuration(c.RetryAfter); err != nil {
			// Kratix fails the status update on it.
			return nil, fmt.Errorf("workflow-control.yaml: retryAfter %q: %w", c.RetryAfter, err)
		}
	}
	if !c.Suspend && c.RetryAfter == "" {
		return nil, nil
	}
	return &c, nil
}
