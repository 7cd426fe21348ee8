package natsuser

// The tests in this file put a real TCP proxy, toxiproxy (through
// internal/faultproxy), between the stage and the fake Synadia Cloud. They
// fail each outside call of each kind of run in each way a network or a
// server fails, or stop the run at each boundary between two calls (in
// process, or by killing the built binary), then run the stage again with
// the network well, and check that it converged:
//
//   - exactly one NATS user for the request, the one its status names, and
//     no other user in the account (none orphaned); none after a delete,
//     whose credentials no longer connect;
//   - output and status equal to a fault-free run's, byte for byte but for
//     what new credentials change (the user's identity, the JWT's issue
//     time, the ciphertext, the reason given for issuing);
//   - credentials that connect to a nats-server and carry the request's
//     permissions;
//   - no run that succeeded with missing output: a run under a fault fails,
//     writing nothing, so that Kratix keeps the earlier output, or
//     succeeds with all of it.

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/faultproxy"
	"github.com/promisekit/promisekit/internal/stagetest"
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/promises/natsuser/backend"
	"github.com/promisekit/promisekit/promises/natsuser/internal/fakesynadia"
)

// faultAttempt is the stage's time limit per attempt in these tests (the
// platform configuration's synadia.attemptTimeout): faults that hold an
// answer hold it longer, and a fault costs a run about this much.
const faultAttempt = 150 * time.Millisecond

// faultCloudConfig is cloudConfig with the Synadia URL pointing at the
// proxy and short limits: three attempts, short waits between them.
const faultCloudConfig = `
sealing:
  certificate: %s
accounts:
  default:
    natsURL: tls://connect.ngs.global
    synadia:
      accountID: %s
      signingKeyGroup: Default
synadia:
  url: %s
  tokenFile: %s
  attemptTimeout: %s
  attempts: 3
  backoffInitial: 5ms
  backoffMax: 20ms
  timeout: 10s
`

// faultCloud is a cloudEnv whose stage reaches the fake through a proxy
// that a test can make fail.
type faultCloud struct {
	*cloudEnv
	net *faultproxy.HTTP
}

// newFaultCloud starts the fake, a nats-server trusting it, and the proxy;
// the fake's clock and the stage's stand at now, so that every test
// environment issues the same expiry times.
func newFaultCloud(t *testing.T, now time.Time) *faultCloud {
	t.Helper()
	e := &faultCloud{cloudEnv: newCloud(t)}
	e.clock.set(now)
	e.net = faultproxy.StartHTTP(t, e.fake.URL, nil)
	tokenFile := filepath.Join(filepath.Dir(e.config), "token") // newCloud wrote it
	writeFile(t, e.config, fmt.Sprintf(faultCloudConfig, testKeys(t).CertificateFile, e.account.ID, e.net.URL, tokenFile, faultAttempt))
	return e
}

func (e *faultCloud) harness(t *testing.T) *stagetest.Harness {
	h := e.cloudEnv.harness(t, "orders-api", ordersSpec)
	h.Leaks.Known["Synadia token"] = []byte(e.fake.Token)
	return h
}

// heal takes every fault away, the proxy's and the fake's.
func (e *faultCloud) heal(t *testing.T) {
	t.Helper()
	e.net.Clear(t)
	e.fake.ClearFaults()
}

// cloudRun is one kind of run whose outside calls the tests fail one by
// one: the request's state before it, and the calls a fault-free run
// makes, in order.
type cloudRun struct {
	name  string
	calls []string // fakesynadia routes
	// prepare brings the request to where the run starts, without faults,
	// and returns the last outcome (nil if none).
	prepare func(t testing.TB, h *stagetest.Harness) *stagetest.Outcome
	action  string
	// allowed and denied are subjects that converged credentials may and
	// may not publish on (configure runs).
	allowed, denied string
	// reasons are those a converged run may give for new credentials.
	reasons []string
}

const updatedSpec = `
publish:
  allow: ["orders.audit.>"]
subscribe:
  allow: ["orders.>"]
`

var cloudRuns = []cloudRun{
	{
		name:    "create",
		calls:   []string{fakesynadia.RouteListUsers, fakesynadia.RouteListGroups, fakesynadia.RouteCreateUser, fakesynadia.RouteDownloadCreds},
		prepare: func(testing.TB, *stagetest.Harness) *stagetest.Outcome { return nil },
		action:  kratix.ActionConfigure, allowed: "orders.events.created", denied: "payments.charge",
		// A run after one that created the user adopts it.
		reasons: []string{"first issue", "user found by name"},
	},
	{
		name:  "update",
		calls: []string{fakesynadia.RouteGetUser, fakesynadia.RouteListGroups, fakesynadia.RouteUpdateUser, fakesynadia.RouteDownloadCreds},
		prepare: func(t testing.TB, h *stagetest.Harness) *stagetest.Outcome {
			out := configure(t, h)
			setSpec(t, h, updatedSpec)
			return out
		},
		action: kratix.ActionConfigure, allowed: "orders.audit.read", denied: "orders.events.created",
		reasons: []string{"settings changed"},
	},
	{
		name:    "re-run",
		calls:   []string{fakesynadia.RouteGetUser},
		prepare: configure,
		action:  kratix.ActionConfigure, allowed: "orders.events.created", denied: "payments.charge",
	},
	{
		name:    "delete",
		calls:   []string{fakesynadia.RouteGetUser, fakesynadia.RouteRevokeUser, fakesynadia.RouteDeleteUser},
		prepare: configure,
		action:  kratix.ActionDelete,
	},
}

func (r cloudRun) run(ctx context.Context, h *stagetest.Harness) *stagetest.Outcome {
	if r.action == kratix.ActionDelete {
		return h.Delete(ctx)
	}
	return h.Configure(ctx)
}

// references runs each kind of run once without faults, at now, checks
// that it makes exactly its calls in order, and returns its outcome by
// name.
func references(t *testing.T, now time.Time) map[string]*stagetest.Outcome {
	t.Helper()
	refs := map[string]*stagetest.Outcome{}
	for _, r := range cloudRuns {
		e := newFaultCloud(t, now)
		h := e.harness(t)
		r.prepare(t, h)
		e.net.Reset()
		out := r.run(context.Background(), h)
		if out.Err != nil {
			t.Fatalf("%s without faults: %v", r.name, out.Err)
		}
		var got []string
		for _, req := range e.net.Requests() {
			got = append(got, routeOf(req))
		}
		if !slices.Equal(got, r.calls) {
			t.Fatalf("%s makes the calls %q, want %q: update the list of calls the fault tests enumerate", r.name, got, r.calls)
		}
		if len(slices.Compact(slices.Sorted(slices.Values(r.calls)))) != len(r.calls) {
			t.Fatalf("%s calls a route twice: the fake's faults, by route, would hit the first", r.name)
		}
		refs[r.name] = out
	}
	return refs
}

// routeOf names a request the proxy saw ("POST /api/core/beta/...") by
// the fake's route.
func routeOf(request string) string {
	mux := http.NewServeMux()
	for _, r := range []string{
		fakesynadia.RouteVersion, fakesynadia.RouteListGroups, fakesynadia.RouteListUsers, fakesynadia.RouteCreateUser,
		fakesynadia.RouteGetUser, fakesynadia.RouteUpdateUser, fakesynadia.RouteDeleteUser, fakesynadia.RouteDownloadCreds,
		fakesynadia.RouteRevokeUser, fakesynadia.RouteGetRevocation,
	} {
		method, path, _ := strings.Cut(r, " ")
		mux.Handle(method+" /api/core/beta"+path, http.NotFoundHandler())
	}
	method, path, _ := strings.Cut(request, " ")
	_, pattern := mux.Handler(&http.Request{Method: method, URL: &url.URL{Path: path}, Host: "fake"})
	if pattern == "" {
		return request
	}
	return strings.Replace(pattern, " /api/core/beta", " ", 1)
}

// checkFailedOrComplete checks a run made under a fault: it failed, on one
// line, and wrote nothing, or it succeeded and converged. ok says which
// it must be.
func (r cloudRun) checkFailedOrComplete(t *testing.T, e *faultCloud, h *stagetest.Harness, prior, ref, out *stagetest.Outcome, ok bool) {
	t.Helper()
	if out.Err != nil {
		if ok {
			t.Errorf("the run failed, where its retries should have carried it: %v", out.Err)
		}
		if len(out.Files) != 0 || out.StatusYAML != nil {
			t.Errorf("a failed run wrote %v and status %q: Kratix would take them", keys(out.Files), out.StatusYAML)
		}
		if strings.ContainsAny(out.Err.Error(), "\r\n") {
			t.Errorf("the error is not one line: %q", out.Err)
		}
		return
	}
	if !ok {
		t.Errorf("the run succeeded without the calls the fault stopped")
	}
	r.checkConverged(t, e, h, prior, ref, out)
}

// checkConverged checks a successful run against the fault-free run ref.
func (r cloudRun) checkConverged(t *testing.T, e *faultCloud, h *stagetest.Harness, prior, ref, out *stagetest.Outcome) {
	t.Helper()
	all := e.fake.Users(e.account.ID)
	if r.action == kratix.ActionDelete {
		if len(all) != 0 || len(out.Files) != 0 {
			t.Fatalf("after delete: users %+v, output %v", all, keys(out.Files))
		}
		msg := h.Status()["message"].(string)
		deleted := "NATS user kratix.team-orders.orders-api: credentials revoked, user deleted"
		// The run after one that deleted the user finds nothing to do;
		// that run had revoked first.
		gone := "NATS user kratix.team-orders.orders-api does not exist (any more): nothing to revoke or delete"
		if msg != deleted && msg != gone {
			t.Errorf("message %q", msg)
		}
		checkRefused(t, e.nats, credsOf(t, prior, testKeys(t)))
		return
	}
	users := e.users("orders-api")
	if len(users) != 1 || len(all) != 1 {
		t.Fatalf("users %+v in the account, want exactly one for the request", all)
	}
	st := storedState(t, h)
	if st.UserID != users[0].ID || st.UserPublicKey != users[0].PublicKey {
		t.Errorf("status names user %s (%s), the account has %+v", st.UserID, st.UserPublicKey, users[0])
	}
	creds := credsOf(t, out, testKeys(t))
	if info, err := backend.InspectCredentials(creds); err != nil || info.UserPublicKey != users[0].PublicKey {
		t.Errorf("the credentials are for %+v (%v), not the user's key %s", info, err, users[0].PublicKey)
	}
	checkCredentials(t, e.nats, creds, r.allowed, r.denied)

	if len(r.reasons) == 0 {
		// Nothing was due: the run leaves everything as it was, but for
		// the message, which says so.
		got, want := withoutMessage(t, out.StatusYAML), withoutMessage(t, prior.StatusYAML)
		if !sameBytes(out.Files, prior.Files) || got != want {
			t.Errorf("a re-run changed its output or status:\n%s\nwant\n%s", got, want)
		}
	}
	gotFiles, wantFiles := withoutRotation(out.Files), withoutRotation(ref.Files)
	if !sameBytes(gotFiles, wantFiles) {
		t.Errorf("output %v differs from a fault-free run's %v:\n%s", keys(out.Files), keys(ref.Files), diffFiles(gotFiles, wantFiles))
	}
	gotStatus, reason := statusWithoutRotation(t, out.StatusYAML)
	wantStatus, _ := statusWithoutRotation(t, ref.StatusYAML)
	if gotStatus != wantStatus {
		t.Errorf("status differs from a fault-free run's:\n%s\nwant\n%s", gotStatus, wantStatus)
	}
	if reason != "" && !slices.Contains(r.reasons, reason) {
		t.Errorf("new credentials because %q, want one of %q", reason, r.reasons)
	}
}

// ciphertextRE finds the sealed credentials in a SealedSecret and in status.
var ciphertextRE = regexp.MustCompile(`(` + regexp.QuoteMeta(DefaultSecretKey) + `: )[A-Za-z0-9+/=]+`)

// withoutRotation replaces what differs between any two issues of
// credentials in output files: the ciphertext.
func withoutRotation(files map[string][]byte) map[string][]byte {
	out := map[string][]byte{}
	for name, data := range files {
		out[name] = ciphertextRE.ReplaceAll(data, []byte("${1}<ciphertext>"))
	}
	return out
}

// reasonRE finds why new credentials were issued in a status message.
var reasonRE = regexp.MustCompile(`new credentials \(([^)]*)\)`)

// statusWithoutRotation returns status.yaml with what differs between any
// two issues of credentials replaced (the user's identity, when its JWT
// was signed, the ciphertext, the reason), and the reason.
func statusWithoutRotation(t *testing.T, data []byte) (string, string) {
	t.Helper()
	var status map[string]any
	if err := yaml.Unmarshal(data, &status); err != nil {
		t.Fatalf("status.yaml: %v", err)
	}
	msg, _ := status["message"].(string)
	reason := ""
	if m := reasonRE.FindStringSubmatch(msg); m != nil {
		reason = m[1]
		status["message"] = strings.Replace(msg, m[0], "new credentials (<reason>)", 1)
	}
	if rec, ok := status[StateKey].(map[string]any); ok {
		for _, k := range []string{"userId", "userPublicKey", "credentialsIssuedAt"} {
			rec[k] = "<" + k + ">"
		}
		if sealed, ok := rec["sealed"].(map[string]any); ok {
			sealed["encryptedData"] = "<ciphertext>"
		}
	}
	out, err := yaml.Marshal(status)
	if err != nil {
		t.Fatal(err)
	}
	return string(out), reason
}

// withoutMessage returns status.yaml without its message.
func withoutMessage(t *testing.T, data []byte) string {
	t.Helper()
	var status map[string]any
	if err := yaml.Unmarshal(data, &status); err != nil {
		t.Fatalf("status.yaml: %v", err)
	}
	delete(status, "message")
	out, err := yaml.Marshal(status)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func diffFiles(got, want map[string][]byte) string {
	var b strings.Builder
	for _, name := range keys(got) {
		if string(got[name]) != string(want[name]) {
			fmt.Fprintf(&b, "--- %s\n%s\n--- want\n%s\n", name, got[name], want[name])
		}
	}
	return b.String()
}

// callFault is one way a call can fail. inject arms it for the call-th
// call of the run, which goes to route. ok says whether the run must get
// through it within its retries; bites, whether it must make more calls
// than a fault-free run to do so (a repeat, or a look-up after a lost
// create): proof that the fault reached the stage.
type callFault struct {
	name      string
	inject    func(t *testing.T, e *faultCloud, call int, route string)
	ok, bites bool
}

// toxic is a callFault made of a proxy fault at the call.
func toxic(f faultproxy.Fault) func(*testing.T, *faultCloud, int, string) {
	return func(t *testing.T, e *faultCloud, call int, _ string) {
		f.Call = call
		e.net.Inject(t, f)
	}
}

// answer is a callFault made of the fake's own answer: times answers to
// the route.
func answer(times int, f fakesynadia.Fault) func(*testing.T, *faultCloud, int, string) {
	return func(_ *testing.T, e *faultCloud, _ int, route string) {
		e.fake.Inject(route, times, f)
	}
}

// callFaults are the faults put on every call: faultproxy's connection
// faults, and 5xx and 429 from the fake, which can also answer after the
// call took effect.
func callFaults(t *testing.T) []callFault {
	var faults []callFault
	for _, f := range faultproxy.Expect(t, faultAttempt, map[string]struct{ ok, bites bool }{
		"latency within the attempt limit": {true, false},
		"latency beyond the attempt limit": {true, true},
		"reset_peer":                       {true, true},
		// Answers longer than about 150 bytes outlast the attempt limit;
		// the few shorter ones (a DELETE's 204) are only slowed.
		"slow body (bandwidth)":           {true, false},
		"answer cut halfway (limit_data)": {true, true},
		"slow_close":                      {true, false},
		"timeout: no answer from here on": {false, false},
	}) {
		faults = append(faults, callFault{f.Name, toxic(f.Fault), f.Want.ok, f.Want.bites})
	}
	return append(faults,
		callFault{"503 once", answer(1, fakesynadia.Fault{Status: 503, Body: "upstream connect error"}), true, true},
		callFault{"429 once, Retry-After 0", answer(1, fakesynadia.Fault{Status: 429, RetryAfter: "0"}), true, true},
		callFault{"500 after taking effect", answer(1, fakesynadia.Fault{Status: 500, Commit: true}), true, true},
		callFault{"503 until fixed", answer(100, fakesynadia.Fault{Status: 503}), false, false},
		callFault{"429 until fixed", answer(100, fakesynadia.Fault{Status: 429, RetryAfter: "0"}), false, false},
	)
}

// TestCloudFaultAtEachCall fails each call of each kind of run in each way
// of callFaults, then runs the stage again without faults.
func TestCloudFaultAtEachCall(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	refs := references(t, now)
	faults := callFaults(t)
	for _, r := range cloudRuns {
		for i, route := range r.calls {
			for _, f := range faults {
				t.Run(fmt.Sprintf("%s/%d %s/%s", r.name, i+1, route, f.name), func(t *testing.T) {
					t.Parallel()
					r.faultThenHeal(t, now, refs[r.name], f.ok, f.bites, func(e *faultCloud) { f.inject(t, e, i+1, route) })
				})
			}
		}
	}
}

// faultThenHeal prepares the request, runs the stage under the fault that
// inject arms, checks what the run did, takes the fault away, runs the
// stage again and checks that it converged on ref.
func (r cloudRun) faultThenHeal(t *testing.T, now time.Time, ref *stagetest.Outcome, ok, bites bool, inject func(*faultCloud)) {
	t.Helper()
	e := newFaultCloud(t, now)
	h := e.harness(t)
	prior := r.prepare(t, h)
	e.fake.ResetCalls()
	e.net.Reset()
	inject(e)
	out := r.run(context.Background(), h)
	if bites && len(e.net.Requests()) <= len(r.calls) {
		t.Errorf("the run made only the calls of a fault-free run (%q): the fault never reached it", e.net.Requests())
	}
	r.checkFailedOrComplete(t, e, h, prior, ref, out, ok)
	if len(r.reasons) == 0 && r.action == kratix.ActionConfigure && e.fake.Mutations() != 0 {
		t.Errorf("a re-run with nothing due made mutating calls: %v", e.fake.Calls())
	}
	e.heal(t)
	e.fake.ResetCalls()
	again := r.run(context.Background(), h)
	switch {
	case again.Err != nil:
		t.Fatalf("the run after the fault: %v", again.Err)
	case out.Err != nil:
		r.checkConverged(t, e, h, prior, ref, again)
	default:
		// The run under the fault converged already: the next has nothing
		// left to do.
		if e.fake.Mutations() != 0 || !sameBytes(again.Files, out.Files) {
			t.Errorf("the run after a successful one changed the output or made mutating calls: %v", e.fake.Calls())
		}
		if n := len(e.fake.Users(e.account.ID)); (r.action == kratix.ActionDelete) != (n == 0) || n > 1 {
			t.Errorf("%d users after the run", n)
		}
	}
}

// boundary is a point between two calls of a run where it stops: before
// call n reaches the fake, or after the fake has handled it (its answer
// lost).
type boundary struct {
	call  int
	after bool
}

func (b boundary) String() string {
	if b.after {
		return fmt.Sprintf("after call %d", b.call)
	}
	return fmt.Sprintf("before call %d", b.call)
}

// boundaries are every point of a run with n calls where it can stop.
func boundaries(n int) []boundary {
	var out []boundary
	for call := 1; call <= n; call++ {
		out = append(out, boundary{call, false}, boundary{call, true})
	}
	return out
}

// outage is the proxy fault that stops everything at b: no request from
// there on reaches the fake, and after a call, no answer leaves it. toxic
// is reset_peer to fail fast, timeout(0) to hang.
func (b boundary) outage(tx faultproxy.Toxic) faultproxy.Fault {
	if !b.after {
		return faultproxy.Fault{Call: b.call, Before: true, Toxics: []faultproxy.Toxic{tx.On(faultproxy.Upstream)}}
	}
	return faultproxy.Fault{Call: b.call, Toxics: []faultproxy.Toxic{tx.On(faultproxy.Downstream), tx.On(faultproxy.Upstream)}}
}

// TestCloudStoppedAtEachBoundary stops each kind of run at every boundary
// between its outside calls, in process: from the boundary on, the network
// is gone (the stage fails through its own error paths); then the stage
// runs again with the network back.
func TestCloudStoppedAtEachBoundary(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	refs := references(t, now)
	for _, r := range cloudRuns {
		for _, b := range boundaries(len(r.calls)) {
			t.Run(fmt.Sprintf("%s/%s %s", r.name, b, r.calls[b.call-1]), func(t *testing.T) {
				t.Parallel()
				r.faultThenHeal(t, now, refs[r.name], false, false, func(e *faultCloud) { e.net.Inject(t, b.outage(faultproxy.ResetPeer())) })
			})
		}
	}
}

// TestCloudKilledAtEachBoundary builds the stage's binary and kills it
// (SIGKILL: no deferred code, no error path) at every boundary between its
// outside calls: before the first, and after each (the fake handled the
// call; the stage never got the answer). The network holds the process
// there: from the boundary on, everything goes into a black hole
// (toxiproxy's timeout). Killing it before call n>1 leaves what killing
// it after call n-1 leaves, so those are not repeated. The container is
// then restarted in the same Pod, with the network back.
func TestCloudKilledAtEachBoundary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "natsuser")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/promisekit/promisekit/pipelines/natsuser").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	now := time.Now().UTC().Truncate(time.Second)
	refs := references(t, now)
	for _, r := range cloudRuns {
		kills := []boundary{{1, false}}
		for call := 1; call <= len(r.calls); call++ {
			kills = append(kills, boundary{call, true})
		}
		for _, b := range kills {
			t.Run(fmt.Sprintf("%s/%s %s", r.name, b, r.calls[b.call-1]), func(t *testing.T) {
				t.Parallel()
				e := newFaultCloud(t, now)
				h := e.harness(t)
				prior := r.prepare(t, h)
				e.net.Inject(t, b.outage(faultproxy.Timeout(0)))
				dirs := h.PodDirs()
				var stderr bytes.Buffer
				cmd := h.Command(context.Background(), r.action, dirs, bin)
				cmd.Stdout, cmd.Stderr = &stderr, &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				exited := make(chan error, 1)
				go func() { exited <- cmd.Wait() }()
				select {
				case <-e.net.Struck():
				case err := <-exited:
					t.Fatalf("the stage exited (%v) before reaching the boundary: %s", err, stderr.Bytes())
				case <-time.After(10 * time.Second):
					cmd.Process.Kill()
					t.Fatal("the stage did not reach the boundary within 10s")
				}
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
				<-exited
				h.Leaks.Check(t, "the killed stage's stdout and stderr", stderr.Bytes())
				if left := h.Collect(dirs); len(left.Files) != 0 || left.StatusYAML != nil {
					t.Errorf("the killed stage left %v and status %q", keys(left.Files), left.StatusYAML)
				}
				e.heal(t)
				out := h.RunIn(context.Background(), r.action, dirs)
				if out.Err != nil {
					t.Fatalf("the restarted stage: %v", out.Err)
				}
				r.checkConverged(t, e, h, prior, refs[r.name], out)
			})
		}
	}
}
