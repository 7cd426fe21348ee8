package stage

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/promisekit/promisekit/pkg/kratix"
)

// TestFailures: how each kind of failure is reported, with and without
// workflow control.
func TestFailures(t *testing.T) {
	const on = "kratix: {workflowControl: true}\n"
	tests := []struct {
		name, object, config string
		// wantErr: the run fails (exit non-zero); else wantControl and
		// wantMessage describe the result.
		wantErr     string
		wantControl kratix.Control
		wantMessage string
		wantRetry   any // status.retry written; nil: not written
	}{
		{name: "refused, without workflow control", object: widget + "spec: {size: 11}\n",
			wantErr: "spec.size: too large"},
		{name: "refused", object: widget + "spec: {size: 11}\n", config: on,
			wantControl: kratix.Control{Suspend: true, Message: "spec.size: too large"}, wantMessage: "spec.size: too large"},
		{name: "refused at strict decoding", object: widget + "spec: {size: 1, colour: red}\n", config: on,
			wantControl: kratix.Control{Suspend: true, Message: "spec.colour: unknown field"}, wantMessage: "spec.colour: unknown field"},
		{name: "refused after retries ends the count", object: widget + "spec: {size: 11}\nstatus: {retry: {schemaVersion: 1, attempts: 2, reason: x}}\n", config: on,
			wantControl: kratix.Control{Suspend: true, Message: "spec.size: too large"}, wantMessage: "spec.size: too large", wantRetry: "null"},
		{name: "transient, without workflow control", object: widget + "spec: {size: 1}\n", config: "fail: transient\n",
			wantErr: "the gadget service did not answer"},
		{name: "transient, first attempt", object: widget + "spec: {size: 1}\n", config: on + "fail: transient\n",
			wantControl: kratix.Control{RetryAfter: "30s", Message: "the gadget service did not answer"},
			wantMessage: "the gadget service did not answer (attempt 1; next in 30s)", wantRetry: "map[attempts:1 reason:the gadget service did not answer schemaVersion:1]"},
		{name: "transient, third attempt", object: widget + "spec: {size: 1}\nstatus: {retry: {schemaVersion: 1, attempts: 2, reason: x}}\n", config: on + "fail: transient\n",
			wantControl: kratix.Control{RetryAfter: "2m0s", Message: "the gadget service did not answer"},
			wantMessage: "the gadget service did not answer (attempt 3; next in 2m0s)", wantRetry: "map[attempts:3 reason:the gadget service did not answer schemaVersion:1]"},
		{name: "transient, capped", object: widget + "spec: {size: 1}\nstatus: {retry: {schemaVersion: 1, attempts: 40, reason: x}}\n", config: on + "fail: transient\n",
			wantControl: kratix.Control{RetryAfter: "10m0s", Message: "the gadget service did not answer"},
			wantMessage: "the gadget service did not answer (attempt 41; next in 10m0s)", wantRetry: "map[attempts:41 reason:the gadget service did not answer schemaVersion:1]"},
		{name: "transient, a count that does not read starts again", object: widget + "spec: {size: 1}\nstatus: {retry: {schemaVersion: 1, attempts: lots}}\n", config: on + "fail: transient\n",
			wantControl: kratix.Control{RetryAfter: "30s", Message: "the gadget service did not answer"},
			wantMessage: "the gadget service did not answer (attempt 1; next in 30s)", wantRetry: "map[attempts:1 reason:the gadget service did not answer schemaVersion:1]"},
		{name: "neither: the platform's to fix", object: widget + "spec: {size: 1}\n", config: on + "fail: other\n",
			wantErr: "the gadget service is misconfigured"},
		{name: "a broken configuration fails the run", object: widget + "spec: {size: 11}\n", config: on + "maxSize: 0\n",
			wantErr: "config.maxSize: must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := widgetStage(&calls{}).Workflows().ResourceConfigure(context.Background(), request(t, kratix.ActionConfigure, tt.object, tt.config))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Control == nil || *res.Control != tt.wantControl || res.Message != tt.wantMessage {
				t.Fatalf("control %+v, message %q; want %+v, %q", res.Control, res.Message, tt.wantControl, tt.wantMessage)
			}
			if len(res.Documents) != 0 {
				t.Errorf("a stopped run has documents")
			}
			retry, ok := res.Status[retryKey]
			switch {
			case tt.wantRetry == nil && ok:
				t.Errorf("status.retry = %v, want none", retry)
			case tt.wantRetry == "null" && (!ok || retry != nil):
				t.Errorf("status.retry = %v, want null", retry)
			case tt.wantRetry != nil && tt.wantRetry != "null" && fmt.Sprint(retry) != tt.wantRetry:
				t.Errorf("status.retry = %v, want %v", retry, tt.wantRetry)
			}
		})
	}
}

// TestSuccessEndsRetries: a run that goes through after retries writes
// status.retry null, and one that never retried writes nothing of it.
func TestSuccessEndsRetries(t *testing.T) {
	for object, want := range map[string]bool{
		widget + "spec: {size: 1}\nstatus: {retry: {schemaVersion: 1, attempts: 2, reason: x}}\n": true,
		widget + "spec: {size: 1}\n": false,
	} {
		res, err := widgetStage(&calls{}).Workflows().ResourceConfigure(context.Background(), request(t, kratix.ActionConfigure, object, ""))
		if err != nil {
			t.Fatal(err)
		}
		retry, ok := res.Status[retryKey]
		if ok != want || retry != nil {
			t.Errorf("%s: status.retry %v (written: %v), want written: %v and null", object, retry, ok, want)
		}
	}
}

func TestBackoff(t *testing.T) {
	for attempts, want := range map[int]time.Duration{1: 30 * time.Second, 2: time.Minute, 3: 2 * time.Minute, 5: 8 * time.Minute, 6: 10 * time.Minute, 1000: 10 * time.Minute} {
		if got := backoff(attempts); got != want {
			t.Errorf("backoff(%d) = %s, want %s", attempts, got, want)
		}
	}
}
