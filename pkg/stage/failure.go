package stage

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/state"
)

// Waits between the attempts of a run that fails by itself: doubling from
// firstRetry, at most maxRetry apart.
const (
	firstRetry = 30 * time.Second
	maxRetry   = 10 * time.Minute
)

// retryKey is the status key where the skeleton counts the attempts of a
// run that fails by itself.
const retryKey = "retry"

// retryState is status.retry.
type retryState struct {
	// Attempts counts the runs in a row that failed by themselves.
	Attempts int `json:"attempts"`
	// Reason is the last one's message.
	Reason string `json:"reason"`
}

var retryCodec = state.Codec[retryState]{Key: retryKey, Version: 1}

// failed reports err as the installed Kratix understands (see the package
// comment). in is nil, or has no Config, when the run failed before the
// configuration was read: the failure is then the platform's, and fails
// the run.
func failed[Spec, Config, State any](in *Input[Spec, Config, State], err error) (*kratix.Result, error) {
	if in == nil || in.Config == nil {
		return nil, err
	}
	k, ok := any(in.Config).(kratixConfig)
	if !ok || !k.kratix().WorkflowControl {
		return nil, err
	}
	msg := kratix.OneLine(err)
	switch {
	case transient(err):
		// Status a team can write is no reason to fail: a count that does
		// not read starts again.
		prev, _, _ := retryCodec.Load(in.Object)
		attempts := prev.Attempts + 1
		wait := backoff(attempts)
		res := &kratix.Result{
			Message: fmt.Sprintf("%s (attempt %d; next in %s)", msg, attempts, wait),
			Control: &kratix.Control{RetryAfter: wait.String(), Message: msg},
		}
		if err := retryCodec.Store(res, retryState{Attempts: attempts, Reason: msg}); err != nil {
			return nil, err
		}
		return res, nil
	case refused(err):
		res := &kratix.Result{Message: msg, Control: &kratix.Control{Suspend: true, Message: msg}}
		res.ClearStatus(in.Object, retryKey)
		return res, nil
	}
	return nil, err
}

// refused reports whether err is the request's: a field it must change.
// A transient error may name a field too (an aggregator that does not
// exist yet): transient is asked first.
func refused(err error) bool {
	var fe *kratix.FieldError
	var fes kratix.FieldErrors
	return errors.As(err, &fe) || errors.As(err, &fes)
}

// transient reports whether err clears by itself.
func transient(err error) bool {
	var te *kratix.TransientError
	var ne net.Error
	return errors.As(err, &te) || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// backoff is the wait before attempt n+1.
func backoff(attempts int) time.Duration {
	wait := firstRetry
	for i := 1; i < attempts && wait < maxRetry; i++ {
		wait *= 2
	}
	return min(wait, maxRetry)
}
