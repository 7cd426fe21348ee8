package kratix

import (
	"fmt"
	"path/filepath"
	"slices"

	"github.com/promisekit/promisekit/pkg/k8sname"
)

// Result is everything a stage produces in one run. Nothing is written until
// the stage has returned it whole.
type Result struct {
	// Message is written to status.message on every run: Kratix sets
	// "Pending" before each pipeline, so a stage that skips it leaves that.
	Message string
	// Status holds the other top-level status keys this stage owns. Kratix
	// merges status shallowly: each key written replaces the whole previous
	// value, so always write a key's full value.
	Status map[string]any
	// Documents are the manifests for the state store. Kratix ignores output
	// in delete workflows, so delete stages leave this empty.
	Documents []Document
	// DestinationSelectors send documents in a Directory to destinations
	// whose labels match.
	DestinationSelectors []DestinationSelector
	// Control, when set, stops the workflow here: Kratix writes no Work,
	// so the earlier output stays, and shows Control's message on the
	// object. Documents are then ignored.
	Control *Control
}

// Control is /kratix/metadata/workflow-control.yaml, which Kratix honours
// since syntasso/kratix#733 and #753 (March 2026): Suspend stops the
// workflow until the request's spec changes or the label
// kratix.io/workflow-suspended is removed; RetryAfter (a Go duration, which
// wins over Suspend) runs it again after that long.
type Control struct {
	Suspend    bool   `json:"suspend,omitempty"`
	Message    string `json:"message,omitempty"`
	RetryAfter string `json:"retryAfter,omitempty"`
}

// String says what the control does to the workflow.
func (c *Control) String() string {
	if c.RetryAfter != "" {
		return "retryAfter " + c.RetryAfter
	}
	return "suspend"
}

// Document is one manifest to write to the output directory.
type Document struct {
	// Directory groups documents for a destination selector; "" is Kratix's
	// default group at the top of the output directory.
	Directory string
	// Object is any value that marshals to a Kubernetes object: a typed
	// struct or a map with apiVersion, kind and metadata.name.
	Object any
}

// DestinationSelector is one entry of destination-selectors.yaml.
type DestinationSelector struct {
	Directory   string            `json:"directory,omitempty"`
	MatchLabels map[string]string `json:"matchLabels"`
}

// SetStatus records a top-level status key this stage owns.
func (r *Result) SetStatus(key string, value any) {
	if r.Status == nil {
		r.Status = map[string]any{}
	}
	r.Status[key] = value
}

// ClearStatus writes key as null when obj's status holds a value for it:
// Kratix's merge keeps a key until it is written over, so a key a stage no
// longer writes must be cleared.
func (r *Result) ClearStatus(obj *Object, key string) {
	if raw, ok := obj.Status[key]; ok && string(raw) != "null" {
		r.SetStatus(key, nil)
	}
}

// validateSelectors applies the rules of Kratix's ParseDestinationSelectors
// (work-creator/lib): every entry has labels, directories are unique single
// path segments after filepath.Clean. Label syntax is checked as well, since
// a selector with an invalid label can never match a destination.
func validateSelectors(sels []DestinationSelector) error {
	seen := make([]string, 0, len(sels))
	for i, s := range sels {
		field := fmt.Sprintf("destinationSelectors[%d]", i)
		if len(s.MatchLabels) == 0 {
			return fmt.Errorf("%s: matchLabels is empty", field)
		}
		for k, v := range s.MatchLabels {
			if !k8sname.IsLabelKey(k) {
				return fmt.Errorf("%s.matchLabels: invalid label key %q", field, k)
			}
			if !k8sname.IsLabelValue(v) {
				return fmt.Errorf("%s.matchLabels[%s]: invalid label value %q", field, k, v)
			}
		}
		dir := filepath.Clean(s.Directory)
		if filepath.Base(dir) != dir || dir == ".." || dir == "/" {
			return fmt.Errorf("%s.directory: %q must be a single directory name", field, s.Directory)
		}
		if slices.Contains(seen, dir) {
			return fmt.Errorf("%s.directory: %q appears twice", field, s.Directory)
		}
		seen = append(seen, dir)
	}
	return nil
}
