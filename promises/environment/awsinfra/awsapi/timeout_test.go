package awsapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/promisekit/promisekit/promises/environment/awsinfra"
	"github.com/promisekit/promisekit/promises/environment/internal/motoserver"
)

// TestAttemptTimeout: an endpoint that takes a call and never answers
// fails it once the limit per attempt is over, rather than holding the
// run (and the pipeline's Pod) forever. The fault tests of package
// environment show the SDK retrying such an attempt; its configuration
// tests, the limit read from config.aws.attemptTimeout.
func TestAttemptTimeout(t *testing.T) {
	hold := make(chan struct{})
	silent := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-hold }))
	defer silent.Close()
	defer close(hold)
	env := map[string]string{
		"AWS_ENDPOINT_URL":      silent.URL,
		"AWS_ACCESS_KEY_ID":     motoserver.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY": motoserver.SecretAccessKey,
		"AWS_MAX_ATTEMPTS":      "1",
	}
	c, err := New(context.Background(), "us-east-1", 50*time.Millisecond, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	// Only a guard: without the limit per attempt, the call would wait for
	// this instead.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = c.Ensure(ctx, desired("team-a/dev"), awsinfra.Known{}, false)
	// The HTTP client's time limit: its error says so as a net.Error (the
	// wording varies with the moment it strikes).
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() || ctx.Err() != nil {
		t.Errorf("error %v (context: %v), want the attempt to time out", err, ctx.Err())
	}
}
