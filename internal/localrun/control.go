package localrun

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"sigs.k8s.io/yaml"
)

// WorkflowControl is /kratix/metadata/workflow-control.yaml, read as
// Kratix reads it (syntasso/kratix ae170e22, work-creator/lib/
// workflow_control.go and work-creator/cmd/update_status.go): an absent
// file is none; RetryAfter, a Go duration, wins over Suspend; either one
// stops the workflow with no Work written, after the status is merged.
type WorkflowControl struct {
	Suspend    bool   `json:"suspend"`
	Message    string `json:"message"`
	RetryAfter string `json:"retryAfter"`
}

// String says what the control does.
func (c *WorkflowControl) String() string {
	if c.RetryAfter != "" {
		return "retryAfter " + c.RetryAfter
	}
	return "suspend"
}

// readWorkflowControl returns the pipeline's workflow control, or nil when
// it wrote none that stops the workflow.
func readWorkflowControl(metadataDir string) (*WorkflowControl, error) {
	data, err := os.ReadFile(filepath.Join(metadataDir, "workflow-control.yaml"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var c WorkflowControl
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
