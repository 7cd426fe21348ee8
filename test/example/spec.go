package example

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/promisekit/promisekit/pkg/kratix"
)

// Limits of the Greeting API, as the Promise's CRD states them.
const (
	MaxGreetingLength = 64
	MinReplicas       = 1
	MaxReplicas       = 10
)

// Spec is a Greeting request's spec.
type Spec struct {
	Greeting string `json:"greeting"`
	// Replicas is nil when the request leaves it out. The API server
	// fills in the CRD's default; a stage run without one (locally, or
	// on an object stored before the default existed) applies the
	// platform's default here.
	Replicas *int `json:"replicas,omitempty"`
}

// Validate applies the CRD's rules, so that a request stored before a rule
// existed, or a stage run without an API server, fails with the field named.
func (s Spec) Validate() error {
	var errs kratix.FieldErrors
	// The API server counts characters, not bytes.
	switch n := utf8.RuneCountInString(s.Greeting); {
	case n == 0:
		errs.Add("spec.greeting", "is required")
	case n > MaxGreetingLength:
		errs.Add("spec.greeting", fmt.Sprintf("must be at most %d characters, not %d", MaxGreetingLength, n))
	}
	// The CEL rules: trim() is strings.TrimSpace in cel-go.
	if strings.TrimSpace(s.Greeting) != s.Greeting {
		errs.Add("spec.greeting", "must not start or end with whitespace")
	}
	if strings.Contains(s.Greeting, "\n") {
		errs.Add("spec.greeting", "must be a single line")
	}
	if r := s.Replicas; r != nil && (*r < MinReplicas || *r > MaxReplicas) {
		errs.Add("spec.replicas", fmt.Sprintf("must be between %d and %d, not %d", MinReplicas, MaxReplicas, *r))
	}
	return errs.Err()
}
