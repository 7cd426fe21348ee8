package faultproxy

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// upstream is an HTTP server that answers GET /<n> with a body of the
// asked size and remembers which calls it handled.
type upstream struct {
	mu      sync.Mutex
	handled []string
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	u.handled = append(u.handled, r.URL.Path)
	u.mu.Unlock()
	size := 64
	if r.URL.Query().Get("big") != "" {
		size = 4096
	}
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, strings.Repeat("x", size))
}

func (u *upstream) calls() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return strings.Join(u.handled, " ")
}

// attempt is the client's time limit per call: faults that hold an answer
// hold it longer.
const attempt = 250 * time.Millisecond

// TestFaults makes three calls with a fault at the second and shows, for
// each kind of fault, which calls the client saw fail and which the
// upstream handled.
func TestFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault Fault
		big   bool // the answers are 4 KiB rather than 64 bytes
		// failed and handled list the calls that failed at the client and
		// those the upstream handled.
		failed, handled string
	}{
		{"answer reset", Fault{Call: 2, Toxics: []Toxic{ResetPeer()}, Once: true}, false, "/2", "/1 /2 /3"},
		{"answer never comes", Fault{Call: 2, Toxics: []Toxic{Latency(time.Minute)}, Once: true}, false, "/2", "/1 /2 /3"},
		{"answers never come from call 2 on", Fault{Call: 2, Toxics: []Toxic{Timeout(0)}}, false, "/2 /3", "/1 /2 /3"},
		{"answer late", Fault{Call: 2, Toxics: []Toxic{Latency(4 * attempt)}, Once: true}, false, "/2", "/1 /2 /3"},
		{"answers a little late", Fault{Call: 2, Toxics: []Toxic{Latency(attempt / 5)}}, false, "", "/1 /2 /3"},
		{"slow body", Fault{Call: 2, Toxics: []Toxic{Bandwidth(1)}, Once: true}, true, "/2", "/1 /2 /3"},
		{"answer cut halfway", Fault{Call: 2, CutAnswer: true, Once: true}, true, "/2", "/1 /2 /3"},
		{"slow close", Fault{Call: 2, Toxics: []Toxic{SlowClose(attempt / 5)}, Once: true}, false, "", "/1 /2 /3"},
		{"request lost from call 2 on", Fault{Call: 2, Before: true, Toxics: []Toxic{ResetPeer().On(Upstream)}}, false, "/2 /3", "/1"},
		{"request lost from call 1 on", Fault{Call: 1, Before: true, Toxics: []Toxic{Timeout(0).On(Upstream)}}, false, "/1 /2 /3", ""},
		{"stopped after call 2 took effect", Fault{Call: 2, Toxics: []Toxic{ResetPeer(), ResetPeer().On(Upstream)}}, false, "/2 /3", "/1 /2"},
		{"503 twice", Fault{Call: 2, Status: 503, Times: 2}, false, "/2 /3", "/1"},
		{"429 once", Fault{Call: 2, Status: 429, RetryAfter: "0", Times: 1}, false, "/2", "/1 /3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := &upstream{}
			srv := httptest.NewServer(up)
			t.Cleanup(srv.Close)
			h := StartHTTP(t, srv.URL, nil)
			client := h.Client()
			client.Timeout = attempt
			h.Inject(t, tt.fault)
			var failed []string
			for i := 1; i <= 3; i++ {
				path := fmt.Sprintf("/%d", i)
				if tt.big {
					path += "?big=1"
				}
				if err := post(client, h.URL+path); err != nil {
					failed = append(failed, fmt.Sprintf("/%d", i))
				}
			}
			if got := strings.Join(failed, " "); got != tt.failed {
				t.Errorf("failed calls %q, want %q", got, tt.failed)
			}
			if got := up.calls(); got != tt.handled {
				t.Errorf("handled calls %q, want %q", got, tt.handled)
			}
			select {
			case <-h.Struck():
			default:
				t.Error("the fault never struck")
			}
			if got, want := len(h.Requests()), len(strings.Fields(tt.handled))+statusAnswered(tt.fault); got != want {
				t.Errorf("the front saw %d requests: %v", got, h.Requests())
			}
			h.Clear(t)
			if err := post(client, h.URL+"/after"); err != nil {
				t.Errorf("after Clear: %v", err)
			}
		})
	}
}

// statusAnswered is how many of the three calls the front answered itself.
func statusAnswered(f Fault) int {
	if f.Status == 0 {
		return 0
	}
	return f.Times
}

// post makes one call and reads the whole answer: an error, a cut answer
// or a status other than 200 fails it. A POST, because Go's http.Transport
// repeats a GET on its own when a reused connection closes early.
func post(c *http.Client, url string) error {
	resp, err := c.Post(url, "text/plain", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

func TestRetryAfter(t *testing.T) {
	srv := httptest.NewServer(&upstream{})
	t.Cleanup(srv.Close)
	h := StartHTTP(t, srv.URL, nil)
	h.Inject(t, Fault{Call: 1, Status: http.StatusTooManyRequests, RetryAfter: "3", Times: 1})
	resp, err := h.Client().Get(h.URL + "/1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "3" {
		t.Fatalf("status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// An HTTPS upstream gets an HTTPS front whose certificate Client trusts.
func TestTLS(t *testing.T) {
	srv := httptest.NewTLSServer(&upstream{})
	t.Cleanup(srv.Close)
	h := StartHTTP(t, srv.URL, srv.Client().Transport)
	if !strings.HasPrefix(h.URL, "https://127.0.0.1:") {
		t.Fatalf("URL %s", h.URL)
	}
	client := h.Client()
	client.Timeout = attempt
	h.Inject(t, Fault{Call: 2, Toxics: []Toxic{ResetPeer()}, Once: true})
	for i, wantErr := range []bool{false, true, false} {
		if err := post(client, fmt.Sprintf("%s/%d", h.URL, i+1)); (err != nil) != wantErr {
			t.Errorf("call %d: %v", i+1, err)
		}
	}
	if got := strings.Join(h.Requests(), " "); got != "POST /1 POST /2 POST /3" {
		t.Errorf("requests %q", got)
	}
}

func TestInvalidFaults(t *testing.T) {
	for _, f := range []Fault{
		{Call: 0, Toxics: []Toxic{ResetPeer()}},
		{Call: 1},
		{Call: 1, Status: 503, Toxics: []Toxic{ResetPeer()}},
		{Call: 1, Status: 503, Times: -1},
		{Call: 1, Toxics: []Toxic{ResetPeer()}, Times: 1},
		{Call: 2, Before: true, Toxics: []Toxic{ResetPeer()}},
		{Call: 2, Before: true, Toxics: []Toxic{ResetPeer().On(Upstream)}, Once: true},
		{Call: 2, Toxics: []Toxic{Timeout(0)}, Once: true},
		{Call: 2, Toxics: []Toxic{Latency(time.Second).On(Upstream)}, Once: true},
	} {
		if err := f.check(); err == nil {
			t.Errorf("fault %s accepted", f)
		}
	}
}

// fatalRecorder is a testing.TB whose Fatalf records and stops the call.
type fatalRecorder struct {
	testing.TB
	fatal string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	panic(r)
}

// TestExpect: every connection fault needs an expectation, and every
// expectation a fault.
func TestExpect(t *testing.T) {
	all := map[string]bool{}
	for _, f := range ConnectionFaults(time.Second) {
		all[f.Name] = true
	}
	missing := maps.Clone(all)
	delete(missing, "reset_peer")
	extra := maps.Clone(all)
	extra["no such fault"] = true
	tests := []struct {
		name   string
		expect map[string]bool
		fatal  string
	}{
		{"all", all, ""},
		{"one missing", missing, `no expectation for the connection fault "reset_peer"`},
		{"one too many", extra, "8 expectations for 7 connection faults"},
	}
	for _, tt := range tests {
		r := &fatalRecorder{TB: t}
		var got []Expected[bool]
		func() {
			defer func() {
				if p := recover(); p != nil && p != r {
					panic(p)
				}
			}()
			got = Expect(r, time.Second, tt.expect)
		}()
		if r.fatal != tt.fatal {
			t.Errorf("%s: fatal %q, want %q", tt.name, r.fatal, tt.fatal)
		}
		if tt.fatal == "" && len(got) != len(all) {
			t.Errorf("%s: %d faults, want %d", tt.name, len(got), len(all))
		}
	}
}
