package faultproxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// HTTP is a Proxy in front of an HTTP server, with a small HTTP front
// between the two that numbers the calls reaching the server and strikes a
// Fault at the chosen one:
//
//	stage ──▶ toxiproxy (Proxy) ──▶ front: numbers calls, adds toxics ──▶ upstream server
//
// The stage is configured with URL. When the upstream speaks HTTPS, so
// does the front, with its own certificate, which Client trusts.
type HTTP struct {
	// URL is the proxy's address as a URL with the upstream's scheme.
	URL string
	// Proxy is the toxiproxy proxy, for toxics that hit every call.
	Proxy *Proxy

	t       testing.TB
	front   *httptest.Server
	forward *httputil.ReverseProxy

	mu       sync.Mutex
	calls    int      // requests since the last Inject or Reset
	requests []string // "METHOD /path" of each
	fault    *armed
}

// Fault is what happens to one call of a stage. Calls are numbered from 1,
// in the order their requests reach the front, counting from Inject; a
// stage's calls are made one after another, so the numbering of a
// fault-free run is the order of its calls. (Go's http.Transport repeats a
// GET on its own when a connection reused from an earlier call closes
// before any answer: such a repeat reaches the front as a request of its
// own.)
type Fault struct {
	// Call is the number of the call the fault hits.
	Call int
	// Toxics are added to the proxy when the fault strikes: unless Before
	// is set, after the upstream has handled the call and just before its
	// answer leaves the front. Downstream toxics then hit that answer (the
	// call took effect; the stage may never learn it), Upstream toxics
	// every request after it.
	Toxics []Toxic
	// CutAnswer adds a limit_data toxic that closes the connection about
	// halfway through the call's answer, as measured at the front.
	CutAnswer bool
	// Before strikes as call Call-1 is answered (at once, for call 1), so
	// that call Call never reaches the upstream; it takes Upstream toxics
	// only, and lasts until Clear.
	Before bool
	// Once takes the toxics away as soon as the next connection or request
	// reaches the front: the stage's retry, or its next call, goes through.
	// Without it they stay until Clear: an outage. Toxics act on every
	// connection, the one opened for the retry included, so Once takes
	// only Downstream toxics, and not timeout, whose removal closes every
	// connection opened while it was in place (an answer held by a Latency
	// longer than the client waits never comes either).
	Once bool
	// Status, with RetryAfter, answers Times calls from call Call on
	// instead of the upstream (Times 0: every call until Clear), for
	// servers without fault knobs of their own: a 503, a 429. It takes no
	// toxics.
	Status     int
	RetryAfter string
	Times      int
}

func (f Fault) String() string {
	var parts []string
	if f.Before {
		parts = append(parts, fmt.Sprintf("before call %d", f.Call))
	} else {
		parts = append(parts, fmt.Sprintf("at call %d", f.Call))
	}
	for _, tx := range f.Toxics {
		parts = append(parts, tx.String())
	}
	if f.CutAnswer {
		parts = append(parts, "answer cut halfway")
	}
	switch {
	case f.Status != 0 && f.Times > 0:
		parts = append(parts, fmt.Sprintf("answer %d to %d calls", f.Status, f.Times))
	case f.Status != 0:
		parts = append(parts, fmt.Sprintf("answer %d until cleared", f.Status))
	case f.Once:
		parts = append(parts, "once")
	default:
		parts = append(parts, "until cleared")
	}
	return strings.Join(parts, ", ")
}

func (f Fault) check() error {
	toxics := len(f.Toxics) > 0 || f.CutAnswer
	var why string
	switch {
	case f.Call < 1:
		why = "calls are numbered from 1"
	case f.Status != 0 && (toxics || f.Before || f.Once):
		why = "a Status fault takes no toxics, Before or Once"
	case f.Status == 0 && !toxics:
		why = "it does nothing"
	case f.Status == 0 && f.Times != 0:
		why = "Times counts Status answers; toxics end with Once"
	case f.Times < 0:
		why = "Times must not be negative"
	case f.Before && (f.Once || f.CutAnswer):
		why = "a fault before a call lasts until cleared: no later call reaches the front to end it"
	}
	for _, tx := range f.Toxics {
		switch {
		case why != "":
		case f.Before && tx.Direction != Upstream:
			why = "before a call, a downstream toxic would hit the answer to the call before"
		case f.Once && tx.Direction != Downstream:
			why = "an upstream toxic keeps the next request from the front, which would end it"
		case f.Once && tx.Type == "timeout":
			why = "taking a timeout toxic away closes the retry's connection too"
		}
	}
	if why != "" {
		return fmt.Errorf("faultproxy: fault %s: %s", f, why)
	}
	return nil
}

// armed is an injected fault and what it has done.
type armed struct {
	Fault
	struck  chan struct{} // closed once the toxics are in place
	hit     bool          // the call it strikes at has come
	toxics  []string      // names in place
	expired bool          // Once, and the next connection or request came
}

// StartHTTP starts a Proxy and a front in front of the HTTP(S) server at
// upstreamURL. transport reaches the upstream (for a TLS upstream, one
// that trusts it); nil means a plain http.Transport.
func StartHTTP(t testing.TB, upstreamURL string, transport http.RoundTripper) *HTTP {
	t.Helper()
	u, err := url.Parse(upstreamURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		t.Fatalf("faultproxy: upstream %q is not an http(s) URL", upstreamURL)
	}
	if transport == nil {
		transport = &http.Transport{}
	}
	quiet := log.New(io.Discard, "", 0) // broken connections are the point here
	h := &HTTP{t: t, forward: httputil.NewSingleHostReverseProxy(u)}
	h.forward.Transport = transport
	h.forward.ErrorLog = quiet
	h.front = httptest.NewUnstartedServer(h)
	h.front.Config.ErrorLog = quiet
	h.front.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			h.expire()
		}
	}
	if u.Scheme == "https" {
		h.front.StartTLS()
	} else {
		h.front.Start()
	}
	t.Cleanup(h.front.Close)
	h.Proxy = Start(t, h.front.Listener.Addr().String())
	h.URL = u.Scheme + "://" + h.Proxy.Addr()
	return h
}

// Client returns a new HTTP client for URL: it trusts the front's
// certificate when there is one. Set its Timeout as the stage would.
func (h *HTTP) Client() *http.Client {
	if h.front.TLS == nil {
		return &http.Client{Transport: &http.Transport{}}
	}
	return &http.Client{Transport: h.front.Client().Transport.(*http.Transport).Clone()}
}

// Inject clears any earlier fault, restarts the numbering of calls, and
// arms f.
func (h *HTTP) Inject(t testing.TB, f Fault) {
	t.Helper()
	if err := f.check(); err != nil {
		t.Fatal(err)
	}
	h.Clear(t)
	a := &armed{Fault: f, struck: make(chan struct{})}
	h.mu.Lock()
	h.fault, h.calls, h.requests = a, 0, nil
	h.mu.Unlock()
	switch {
	case f.Status != 0:
		close(a.struck)
	case f.Before && f.Call == 1:
		a.hit = true
		if err := h.strike(a, 0); err != nil {
			t.Fatal(err)
		}
	}
}

// Struck is closed once the injected fault's toxics are in place (for a
// Status fault, at once): a test that kills the stage then stops it at the
// fault's boundary.
func (h *HTTP) Struck() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fault == nil {
		return nil
	}
	return h.fault.struck
}

// Clear removes the fault and every toxic: the network is well again.
func (h *HTTP) Clear(t testing.TB) {
	t.Helper()
	h.mu.Lock()
	h.fault = nil
	h.mu.Unlock()
	if err := h.Proxy.Clear(); err != nil {
		t.Fatal(err)
	}
}

// Requests returns "METHOD /path" of every request that reached the front
// since the last Inject or Reset, in order.
func (h *HTTP) Requests() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.requests)
}

// Reset forgets the requests and restarts the numbering.
func (h *HTTP) Reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls, h.requests = 0, nil
}

// expire ends a Once fault that has struck: the next connection or request
// has come.
func (h *HTTP) expire() {
	h.mu.Lock()
	a := h.fault
	var names []string
	if a != nil && a.Once && a.hit && !a.expired {
		names, a.toxics, a.expired = a.toxics, nil, true
	}
	h.mu.Unlock()
	for _, name := range names {
		if err := h.Proxy.Remove(name); err != nil {
			h.t.Errorf("ending fault %s: %v", a.Fault, err)
		}
	}
}

// ServeHTTP numbers the call, lets the fault strike if its time has come,
// and forwards the request to the upstream.
func (h *HTTP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.expire()
	h.mu.Lock()
	h.calls++
	n := h.calls
	h.requests = append(h.requests, r.Method+" "+r.URL.Path)
	a := h.fault
	var status, strike bool
	if a != nil {
		status = a.Status != 0 && n >= a.Call && (a.Times == 0 || n < a.Call+a.Times)
		at := a.Call // the call whose answer the fault waits for
		if a.Before {
			at--
		}
		strike = a.Status == 0 && !a.hit && n == at
		a.hit = a.hit || strike
	}
	h.mu.Unlock()
	switch {
	case status:
		if a.RetryAfter != "" {
			w.Header().Set("Retry-After", a.RetryAfter)
		}
		http.Error(w, fmt.Sprintf("faultproxy: call %d answered %d", n, a.Status), a.Status)
		return
	case !strike:
		h.forward.ServeHTTP(w, r)
		return
	}
	// Let the upstream answer, put the toxics in place, then answer: the
	// toxics are there before the first byte of the answer leaves.
	rec := httptest.NewRecorder()
	h.forward.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	header := w.Header()
	for k, v := range rec.Header() {
		header[k] = v
	}
	header.Set("Content-Length", strconv.Itoa(len(body)))
	var head bytes.Buffer
	fmt.Fprintf(&head, "HTTP/1.1 %03d %s\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\n", rec.Code, http.StatusText(rec.Code))
	header.Write(&head)
	if err := h.strike(a, int64(head.Len()+2+len(body))); err != nil {
		h.t.Errorf("call %d: %v", n, err)
	}
	w.WriteHeader(rec.Code)
	w.Write(body)
}

// strike puts the fault's toxics in place. answerBytes is about the size
// of the answer about to leave, for CutAnswer.
func (h *HTTP) strike(a *armed, answerBytes int64) error {
	defer close(a.struck)
	toxics := slices.Clone(a.Toxics)
	if a.CutAnswer {
		toxics = append(toxics, LimitData(max(answerBytes/2, 1)))
	}
	var names []string
	var errs []error
	for _, tx := range toxics {
		name, err := h.Proxy.Add(tx)
		if err != nil {
			errs = append(errs, fmt.Errorf("fault %s: %w", a.Fault, err))
			continue
		}
		names = append(names, name)
	}
	h.mu.Lock()
	expired := a.expired
	if !expired {
		a.toxics = append(a.toxics, names...)
	}
	h.mu.Unlock()
	if expired {
		// A connection or request came while the answer was on its way.
		for _, name := range names {
			errs = append(errs, h.Proxy.Remove(name))
		}
	}
	return errors.Join(errs...)
}

// Named is a fault and the name a test reports it under.
type Named struct {
	Name  string
	Fault Fault
}

// ConnectionFaults are the faults on the connection that every outside
// call of a stage is put through, for a client whose limit per attempt is
// attempt. Each promise's fault test takes all of them and says what its
// stage must do under each (see Expect), so a fault added here reaches
// every promise.
func ConnectionFaults(attempt time.Duration) []Named {
	return []Named{
		{"latency within the attempt limit", Fault{Toxics: []Toxic{Latency(attempt / 5)}}},
		{"latency beyond the attempt limit", Fault{Toxics: []Toxic{Latency(time.Minute)}, Once: true}},
		{"reset_peer", Fault{Toxics: []Toxic{ResetPeer()}, Once: true}},
		// 1 KB/s: a longer answer outlasts the attempt limit, a shorter
		// one is only slowed.
		{"slow body (bandwidth)", Fault{Toxics: []Toxic{Bandwidth(1)}, Once: true}},
		{"answer cut halfway (limit_data)", Fault{CutAnswer: true, Once: true}},
		// HTTP keeps connections open: a slow close delays nothing a call
		// waits for.
		{"slow_close", Fault{Toxics: []Toxic{SlowClose(2 * attempt)}, Once: true}},
		{"timeout: no answer from here on", Fault{Toxics: []Toxic{Timeout(0)}}},
	}
}

// Expected is a connection fault and what a stage must do under it.
type Expected[E any] struct {
	Named
	Want E
}

// Expect pairs each of ConnectionFaults(attempt) with what a stage must do
// under it, as expect names it, and fails t for a fault that expect does
// not name, or a name in expect that is no fault.
func Expect[E any](t testing.TB, attempt time.Duration, expect map[string]E) []Expected[E] {
	t.Helper()
	var out []Expected[E]
	for _, f := range ConnectionFaults(attempt) {
		want, ok := expect[f.Name]
		if !ok {
			t.Fatalf("no expectation for the connection fault %q", f.Name)
		}
		out = append(out, Expected[E]{f, want})
	}
	if len(out) != len(expect) {
		t.Fatalf("%d expectations for %d connection faults", len(expect), len(out))
	}
	return out
}
