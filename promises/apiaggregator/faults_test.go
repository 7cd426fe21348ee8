package apiaggregator

// The tests in this file put a real TCP proxy, toxiproxy (through
// internal/faultproxy), between a target's stage and the platform API (the
// fake API server, over TLS), fail each of the stage's list calls in each
// way a network or an API server fails, or stop the run at each boundary
// between two calls, then run the stage again with the network well. The
// stage only reads, so there is nothing outside to leave behind; what
// matters is its output:
//
//   - after the fault is gone, output, destination selectors and status
//     equal a fault-free run's byte for byte, or, for a request that a
//     fault-free run refuses, the same refusal;
//   - a run under a fault fails, writing nothing (so that Kratix keeps the
//     earlier output), or succeeds with all of its output: never with a
//     sibling target left out of the conflict check because a page of the
//     list was lost. A request that a fault-free run refuses is never
//     rendered under a fault;
//   - the stage only ever lists.

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/promisekit/promisekit/internal/faultproxy"
	"github.com/promisekit/promisekit/internal/stagetest"
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/platformapi"
)

// The stage's platform API client waits 15 s for an answer and retries
// after 200, 400 and 800 ms; its only limits a test can set are the HTTP
// client's (through Connect) and the run's context. apiAttempt bounds one
// attempt, apiRunLimit a whole run: enough for one failed attempt and the
// retry after it, not for every attempt a lasting fault makes it try.
const (
	apiAttempt  = 150 * time.Millisecond
	apiRunLimit = 700 * time.Millisecond
)

// faultPlatform is a test platform whose API server the target under test
// reaches through a proxy that a test can make fail. The API server
// answers one object per page, so that each list takes as many calls as
// it has objects.
type faultPlatform struct {
	*testPlatform
	net *faultproxy.HTTP
}

func newFaultPlatform(t *testing.T) *faultPlatform {
	t.Helper()
	p := &faultPlatform{testPlatform: newPlatform(t, "")}
	p.api.PageSize = 1
	p.net = faultproxy.StartHTTP(t, p.api.URL(), p.api.HTTPClient().Transport)
	return p
}

// connectThroughProxy is the target's Connect: a platform API client for
// the proxy, with a short limit per attempt.
func (p *faultPlatform) connectThroughProxy(func(string) string, ...platformapi.Option) (platformapi.API, error) {
	hc := p.net.Client()
	hc.Timeout = apiAttempt
	return platformapi.NewServer(p.net.URL, p.api.Token(), hc), nil
}

// targetRun is a target's configure run whose calls the tests fail one by
// one: the objects configured before it, and the calls a fault-free run
// makes, in order.
type targetRun struct {
	name    string
	before  []string // example files configured first, in order
	request []byte
	calls   []string // "GET /path" in order
	// refused is part of the error a fault-free run fails with; "" when it
	// renders.
	refused string
}

const (
	listAggregators = "GET /apis/" + Group + "/v1alpha1/namespaces/platform/apiaggregators"
	listTargets     = "GET /apis/" + Group + "/v1alpha1/apiaggregatortargets"
)

// targetRuns are a target with two siblings, whose list of targets takes
// three pages, and a target whose prefix an older sibling holds.
func targetRuns(t *testing.T) []targetRun {
	return []targetRun{
		{
			name:    "render",
			before:  []string{"examples/portal.yaml", "examples/orders.yaml", "examples/legacy-orders.yaml"},
			request: readFile(t, "examples/invoices.yaml"),
			calls:   []string{listAggregators, listTargets, listTargets, listTargets},
		},
		{
			name:    "conflict",
			before:  []string{"examples/portal.yaml", "examples/orders.yaml"},
			request: []byte(rogueYAML),
			calls:   []string{listAggregators, listTargets, listTargets},
			refused: `spec.paths[1].prefix: "/orders" is already routed`,
		},
	}
}

// start configures the objects before the run and returns the harness of
// the request, whose stage goes through the proxy.
func (r targetRun) start(p *faultPlatform) *stagetest.Harness {
	p.t.Helper()
	for _, file := range r.before {
		p.configure(p.request(readFile(p.t, file)))
	}
	h := p.request(r.request)
	h.Workflows = Workflows(p.connectThroughProxy)
	p.net.Reset()
	return h
}

// configure runs the request within apiRunLimit.
func (r targetRun) configure(h *stagetest.Harness) *stagetest.Outcome {
	ctx, cancel := context.WithTimeout(context.Background(), apiRunLimit)
	defer cancel()
	return h.Configure(ctx)
}

// reference runs r without faults, checks that it makes exactly its
// calls, and returns its outcome.
func (r targetRun) reference(t *testing.T) *stagetest.Outcome {
	t.Helper()
	p := newFaultPlatform(t)
	h := r.start(p)
	out := r.configure(h)
	r.checkRefusal(t, out)
	if got := p.net.Requests(); !slices.Equal(got, r.calls) {
		t.Fatalf("%s makes the calls %q, want %q: update the calls the fault tests enumerate", r.name, got, r.calls)
	}
	return out
}

// checkRefusal checks that a run that must be refused was, for the
// reason a fault-free run gives, and that one that must not was not.
func (r targetRun) checkRefusal(t *testing.T, out *stagetest.Outcome) {
	t.Helper()
	switch {
	case r.refused == "" && out.Err != nil:
		t.Fatalf("%s: %v", r.name, out.Err)
	case r.refused != "" && (out.Err == nil || !strings.Contains(kratix.OneLine(out.Err), r.refused)):
		t.Fatalf("%s: error %v, want one containing %q", r.name, out.Err, r.refused)
	}
}

// checkFailedOrComplete checks a run made under a fault: it failed on one
// line and wrote nothing, or it gave exactly what ref gave. ok says that
// it must have come through the fault to ref's outcome.
func (r targetRun) checkFailedOrComplete(t *testing.T, ref, out *stagetest.Outcome, ok bool) {
	t.Helper()
	if out.Err == nil {
		if r.refused != "" {
			t.Fatalf("a request that a fault-free run refuses was rendered under the fault")
		}
		if !ok {
			t.Errorf("the run succeeded without the calls the fault stopped")
		}
		r.checkSame(t, ref, out)
		return
	}
	if len(out.Files) != 0 || out.StatusYAML != nil || out.Selectors != nil {
		t.Errorf("a failed run wrote %v, status %q, selectors %q: Kratix would take them", slices.Sorted(maps.Keys(out.Files)), out.StatusYAML, out.Selectors)
	}
	if strings.ContainsAny(out.Err.Error(), "\r\n") {
		t.Errorf("the error is not one line: %q", out.Err)
	}
	switch {
	case ok && r.refused == "":
		t.Errorf("the run failed, where its retries should have carried it: %v", out.Err)
	case ok && out.Err.Error() != ref.Err.Error():
		t.Errorf("error %q, want the fault-free run's %q", out.Err, ref.Err)
	}
}

// checkSame checks that out is ref's outcome, byte for byte.
func (r targetRun) checkSame(t *testing.T, ref, out *stagetest.Outcome) {
	t.Helper()
	if r.refused != "" {
		if out.Err == nil || out.Err.Error() != ref.Err.Error() {
			t.Errorf("error %v, want the fault-free run's %q", out.Err, ref.Err)
		}
		return
	}
	if out.Err != nil {
		t.Fatalf("the run failed: %v", out.Err)
	}
	if !maps.EqualFunc(out.Files, ref.Files, bytes.Equal) {
		t.Errorf("output %v differs from a fault-free run's %v", slices.Sorted(maps.Keys(out.Files)), slices.Sorted(maps.Keys(ref.Files)))
	}
	if !bytes.Equal(out.StatusYAML, ref.StatusYAML) {
		t.Errorf("status differs from a fault-free run's:\n%s\nwant\n%s", out.StatusYAML, ref.StatusYAML)
	}
	if !bytes.Equal(out.Selectors, ref.Selectors) {
		t.Errorf("destination selectors %q, want %q", out.Selectors, ref.Selectors)
	}
}

// faultThenHeal runs r under the fault that inject arms, checks the run,
// takes the fault away, runs it again and checks that it converged.
func (r targetRun) faultThenHeal(t *testing.T, ref *stagetest.Outcome, ok, bites bool, inject func(p *faultPlatform)) {
	t.Helper()
	p := newFaultPlatform(t)
	h := r.start(p)
	inject(p)
	out := r.configure(h)
	r.checkFailedOrComplete(t, ref, out, ok)
	if bites && len(p.net.Requests()) <= len(r.calls) {
		t.Errorf("the run made only the calls of a fault-free run (%q): the fault never reached it", p.net.Requests())
	}
	p.net.Clear(t)
	r.checkSame(t, ref, r.configure(h))
	for _, req := range p.api.Requests() {
		if !strings.HasPrefix(req, "GET ") {
			t.Errorf("the stage called %s: it may only list", req)
		}
	}
}

// apiFault is one way a call can fail: ok says whether the run must get
// through it; bites, whether it must make more calls than a fault-free run
// to do so.
type apiFault struct {
	name      string
	fault     faultproxy.Fault
	ok, bites bool
}

// apiFaults are the faults put on every call: faultproxy's connection
// faults, and 5xx and 429 answered by the proxy's HTTP front, as the fake
// API server has no fault knobs.
func apiFaults(t *testing.T) []apiFault {
	var faults []apiFault
	for _, f := range faultproxy.Expect(t, apiAttempt, map[string]struct{ ok, bites bool }{
		"latency within the attempt limit": {true, false},
		"latency beyond the attempt limit": {true, true},
		"reset_peer":                       {true, true},
		"slow body (bandwidth)":            {true, true},
		"answer cut halfway (limit_data)":  {true, true},
		"slow_close":                       {true, false},
		"timeout: no answer from here on":  {false, false},
	}) {
		faults = append(faults, apiFault{f.Name, f.Fault, f.Want.ok, f.Want.bites})
	}
	return append(faults,
		apiFault{"503 once", faultproxy.Fault{Status: 503, Times: 1}, true, true},
		apiFault{"429 once, Retry-After 0", faultproxy.Fault{Status: 429, RetryAfter: "0", Times: 1}, true, true},
		apiFault{"503 until fixed", faultproxy.Fault{Status: 503}, false, false},
		apiFault{"429 until fixed", faultproxy.Fault{Status: 429, RetryAfter: "0"}, false, false},
	)
}

// TestTargetFaultAtEachCall fails each list call of a target's run in each
// way of apiFaults, then runs the stage again without faults.
func TestTargetFaultAtEachCall(t *testing.T) {
	faults := apiFaults(t)
	for _, r := range targetRuns(t) {
		ref := r.reference(t)
		for i, call := range r.calls {
			for _, f := range faults {
				t.Run(fmt.Sprintf("%s/%d %s/%s", r.name, i+1, call, f.name), func(t *testing.T) {
					t.Parallel()
					r.faultThenHeal(t, ref, f.ok, f.bites, func(p *faultPlatform) {
						fault := f.fault
						fault.Call = i + 1
						p.net.Inject(t, fault)
					})
				})
			}
		}
	}
}

// TestTargetStoppedAtEachBoundary stops a target's run at every boundary
// between its calls: from there on, no request reaches the API server and,
// after a call, no answer comes back. The stage has no process of its own
// to kill here (the binary reaches the API server only from inside a Pod),
// and it writes nothing before its last call, so a run stopped in process
// is one stopped anywhere.
func TestTargetStoppedAtEachBoundary(t *testing.T) {
	for _, r := range targetRuns(t) {
		ref := r.reference(t)
		for i, call := range r.calls {
			for _, after := range []bool{false, true} {
				name := fmt.Sprintf("%s/before call %d %s", r.name, i+1, call)
				fault := faultproxy.Fault{Call: i + 1, Before: true, Toxics: []faultproxy.Toxic{faultproxy.ResetPeer().On(faultproxy.Upstream)}}
				if after {
					name = fmt.Sprintf("%s/after call %d %s", r.name, i+1, call)
					fault = faultproxy.Fault{Call: i + 1, Toxics: []faultproxy.Toxic{faultproxy.ResetPeer(), faultproxy.ResetPeer().On(faultproxy.Upstream)}}
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					r.faultThenHeal(t, ref, false, false, func(p *faultPlatform) { p.net.Inject(t, fault) })
				})
			}
		}
	}
}
