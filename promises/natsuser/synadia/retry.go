package synadia

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxResponseBytes bounds an answer. The largest we read is a list of an
// account's users, a few kilobytes each.
const maxResponseBytes = 16 << 20

// Backoff is how long to wait between attempts: Initial before the second,
// doubling up to Max, each wait drawn at random from its upper half so that
// many pipelines retrying at once spread out. A Retry-After header from
// the server wins.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
}

// wait returns the pause before attempt n+1 (n ≥ 1). answer is the failed
// attempt's response, nil when there was none.
func (b Backoff) wait(n int, answer *http.Response) time.Duration {
	if d, ok := retryAfter(answer); ok {
		return d
	}
	d := b.Initial << min(n-1, 30)
	if d > b.Max || d <= 0 {
		d = b.Max
	}
	return d/2 + rand.N(d/2+1)
}

// retryAfter reads a Retry-After header in either of its forms (RFC 9110
// 10.2.3): delay seconds or an HTTP date.
func retryAfter(answer *http.Response) (time.Duration, bool) {
	if answer == nil {
		return 0, false
	}
	v := strings.TrimSpace(answer.Header.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs >= 0 {
		return time.Duration(min(secs, 1<<32)) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(time.Until(at), 0), true
	}
	return 0, false
}

// retryable reports whether an answer (nil: none arrived) says that the
// same request may succeed later.
func retryable(answer *http.Response) bool {
	return answer == nil || answer.StatusCode == http.StatusTooManyRequests || answer.StatusCode >= 500
}

// retryTransport gives every request a time limit of its own, reads the
// whole answer within it, and repeats requests that are safe to repeat when
// the answer was lost or said "later" (429, 5xx), until a few attempts or
// the caller's context run out.
//
// Safe to repeat are reads, PATCH (this client always sends the full
// settings), the revocation PUT, DELETE, and the credentials POST, whose
// repeat mints one more JWT but creates nothing lasting. Creating a user is
// not: its caller looks for the user by name instead (see CreateUser).
type retryTransport struct {
	next           http.RoundTripper
	attemptTimeout time.Duration
	attempts       int
	backoff        Backoff
	// sleep waits for d or until ctx is done; tests record the waits.
	sleep func(ctx context.Context, d time.Duration) error
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	repeatable := safeToRepeat(req)
	for n := 1; ; n++ {
		answer, err := t.attempt(req)
		if err == nil && !retryable(answer) {
			return answer, nil
		}
		if !repeatable || n >= t.attempts || ctx.Err() != nil {
			return answer, err
		}
		wait := t.backoff.wait(n, answer)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			if err == nil {
				return answer, nil // the caller reports the last answer
			}
			return nil, fmt.Errorf("%w (no time left in the budget for another attempt)", err)
		}
		if err := t.sleep(ctx, wait); err != nil {
			if answer != nil {
				return answer, nil
			}
			return nil, err
		}
		if req.Body != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, fmt.Errorf("repeating %s %s: %w", req.Method, req.URL.Path, err)
			}
			req = req.Clone(ctx)
			req.Body = body
		}
	}
}

// attempt sends req once under its own time limit and reads the whole
// answer before the limit is lifted, so that a slow body counts as a lost
// answer rather than hanging the caller.
func (t *retryTransport) attempt(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), t.attemptTimeout)
	defer cancel()
	answer, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		return nil, describeTransportError(ctx, req, err, t.attemptTimeout)
	}
	body, err := io.ReadAll(io.LimitReader(answer.Body, maxResponseBytes+1))
	answer.Body.Close()
	if err == nil && len(body) > maxResponseBytes {
		err = fmt.Errorf("answer larger than %d bytes", maxResponseBytes)
	}
	if err != nil {
		return nil, describeTransportError(ctx, req, err, t.attemptTimeout)
	}
	answer.Body = io.NopCloser(bytes.NewReader(body))
	answer.ContentLength = int64(len(body))
	return answer, nil
}

// describeTransportError says "no answer within" when the attempt's own
// limit, not the caller, ended it.
func describeTransportError(ctx context.Context, req *http.Request, err error, limit time.Duration) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && req.Context().Err() == nil {
		return fmt.Errorf("%s %s: no answer within %s", req.Method, req.URL.Path, limit)
	}
	return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
}

func safeToRepeat(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	case http.MethodPost:
		return strings.HasSuffix(req.URL.Path, "/creds")
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
