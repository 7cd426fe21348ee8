package kratix

import "strings"

// FieldError is an invalid request field. Its message names the field the
// way a user wrote it, so the one line Kratix shows tells them what to fix.
type FieldError struct {
	Field  string // e.g. spec.routes[1].prefix
	Detail string // e.g. must start with "/"
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Detail }

// FieldErrors collects every invalid field of one request, in the order found.
type FieldErrors []*FieldError

func (e FieldErrors) Error() string {
	msgs := make([]string, len(e))
	for i, fe := range e {
		msgs[i] = fe.Error()
	}
	return strings.Join(msgs, "; ")
}

// Err returns nil when there are no errors, so that a validator can end with
// `return errs.Err()`.
func (e FieldErrors) Err() error {
	if len(e) == 0 {
		return nil
	}
	return e
}

// Add records an invalid field.
func (e *FieldErrors) Add(field, detail string) {
	*e = append(*e, &FieldError{Field: field, Detail: detail})
}

// TransientError is a failure that clears by itself (an aggregator not
// configured yet, an outside service that did not answer in time): a later
// run may succeed with nothing changed.
type TransientError struct{ Err error }

func (e *TransientError) Error() string { return e.Err.Error() }
func (e *TransientError) Unwrap() error { return e.Err }

// Transient marks err as a failure that clears by itself.
func Transient(err error) error { return &TransientError{Err: err} }
