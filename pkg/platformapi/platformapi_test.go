package platformapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var widgets = Resource{Group: "example.com", Version: "v1alpha1", Plural: "widgets"}

// apiServer is a TLS test server on 127.0.0.1 that records requests and
// answers from a handler.
type apiServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	Method, Path, Query, Auth, Accept, ContentType string
	Body                                           []byte
}

func newAPIServer(t *testing.T, h func(w http.ResponseWriter, r *http.Request, n int)) *apiServer {
	t.Helper()
	s := &apiServer{}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, recorded{
			Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery,
			Auth: r.Header.Get("Authorization"), Accept: r.Header.Get("Accept"),
			ContentType: r.Header.Get("Content-Type"), Body: body,
		})
		n := len(s.reqs)
		s.mu.Unlock()
		h(w, r, n)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *apiServer) requests() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.reqs...)
}

func (s *apiServer) client(token string) *Client {
	return NewServer(s.URL+"/", token, s.Client())
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func item(ns, name, uid string) map[string]any {
	return map[string]any{
		"apiVersion": "example.com/v1alpha1", "kind": "Widget",
		"metadata": map[string]any{"name": name, "namespace": ns, "uid": uid},
		"spec":     map[string]any{"size": 1},
	}
}

func status(code int, reason, message string) map[string]any {
	return map[string]any{
		"kind": "Status", "apiVersion": "v1", "status": "Failure",
		"reason": reason, "message": message, "code": code,
	}
}

func TestList(t *testing.T) {
	tests := []struct {
		name      string
		namespace string
		pages     []map[string]any // one answer per request
		wantPaths []string
		wantQuery []string
		wantNames []string
	}{
		{
			name:      "all namespaces",
			namespace: "",
			pages: []map[string]any{
				{"kind": "WidgetList", "metadata": map[string]any{}, "items": []any{item("a", "w1", "u1"), item("b", "w2", "u2")}},
			},
			wantPaths: []string{"/apis/example.com/v1alpha1/widgets"},
			wantQuery: []string{"limit=500"},
			wantNames: []string{"a/w1", "b/w2"},
		},
		{
			name:      "one namespace",
			namespace: "team-a",
			pages: []map[string]any{
				{"kind": "WidgetList", "metadata": map[string]any{"continue": ""}, "items": []any{item("team-a", "w1", "u1")}},
			},
			wantPaths: []string{"/apis/example.com/v1alpha1/namespaces/team-a/widgets"},
			wantQuery: []string{"limit=500"},
			wantNames: []string{"team-a/w1"},
		},
		{
			name:      "empty list",
			namespace: "team-a",
			pages:     []map[string]any{{"kind": "WidgetList", "metadata": map[string]any{}, "items": []any{}}},
			wantPaths: []string{"/apis/example.com/v1alpha1/namespaces/team-a/widgets"},
			wantQuery: []string{"limit=500"},
		},
		{
			name:      "pagination",
			namespace: "",
			pages: []map[string]any{
				{"metadata": map[string]any{"continue": "tok/1=="}, "items": []any{item("a", "w1", "u1")}},
				{"metadata": map[string]any{"continue": "tok2"}, "items": []any{item("a", "w2", "u2"), item("b", "w3", "u3")}},
				{"metadata": map[string]any{}, "items": []any{item("c", "w4", "u4")}},
			},
			wantPaths: []string{"/apis/example.com/v1alpha1/widgets", "/apis/example.com/v1alpha1/widgets", "/apis/example.com/v1alpha1/widgets"},
			wantQuery: []string{"limit=500", "continue=tok%2F1%3D%3D&limit=500", "continue=tok2&limit=500"},
			wantNames: []string{"a/w1", "a/w2", "b/w3", "c/w4"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newAPIServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n > len(tc.pages) {
					writeJSON(w, http.StatusBadRequest, status(400, "BadRequest", "too many requests"))
					return
				}
				writeJSON(w, http.StatusOK, tc.pages[n-1])
			})
			objs, err := srv.client("tok-123").List(context.Background(), widgets, tc.namespace)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			var names []string
			for _, o := range objs {
				names = append(names, o.Metadata.Namespace+"/"+o.Metadata.Name)
			}
			if strings.Join(names, ",") != strings.Join(tc.wantNames, ",") {
				t.Errorf("objects %v, want %v", names, tc.wantNames)
			}
			reqs := srv.requests()
			if len(reqs) != len(tc.wantPaths) {
				t.Fatalf("%d requests, want %d", len(reqs), len(tc.wantPaths))
			}
			for i, r := range reqs {
				if r.Method != http.MethodGet || r.Path != tc.wantPaths[i] || r.Query != tc.wantQuery[i] {
					t.Errorf("request %d: %s %s?%s, want GET %s?%s", i, r.Method, r.Path, r.Query, tc.wantPaths[i], tc.wantQuery[i])
				}
				if r.Auth != "Bearer tok-123" {
					t.Errorf("request %d: Authorization %q", i, r.Auth)
				}
				if r.Accept != "application/json" {
					t.Errorf("request %d: Accept %q", i, r.Accept)
				}
				if len(r.Body) != 0 {
					t.Errorf("request %d: GET with a body %q", i, r.Body)
				}
			}
		})
	}
}

func TestListErrors(t *testing.T) {
	tests := []struct {
		name    string
		code    int
		body    string
		wantErr string
		notErr  string
	}{
		{"forbidden", 403, `{"kind":"Status","message":"widgets.example.com is forbidden: User \"system:serviceaccount:x:y\" cannot list resource","reason":"Forbidden","details":{"secret":"RAW-BODY"}}`,
			`listing widgets: 403 Forbidden: widgets.example.com is forbidden: User "system:serviceaccount:x:y" cannot list resource`, "RAW-BODY"},
		{"not found, HTML body", 404, `<html>RAW-BODY</html>`, "listing widgets: 404 Not Found", "RAW-BODY"},
		{"not JSON", 200, `RAW-BODY`, "listing widgets: decoding response", "RAW-BODY"},
		{"long message truncated", 403, `{"message":"` + strings.Repeat("m", 300) + `RAW-BODY"}`, strings.Repeat("m", 300) + "…", "RAW-BODY"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newAPIServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
				w.WriteHeader(tc.code)
				io.WriteString(w, tc.body)
			})
			_, err := srv.client("t").List(context.Background(), widgets, "ns")
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), tc.notErr) {
				t.Errorf("error echoes the body: %v", err)
			}
		})
	}
}

func TestDelete(t *testing.T) {
	forbidden := `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"widgets.example.com \"w\" is forbidden: cannot delete","reason":"Forbidden","code":403,"details":{"token":"RAW-BODY-MARKER"}}`
	tests := []struct {
		name     string
		codes    []int // answer per attempt; the last repeats
		body     string
		wantErr  string // "" means success
		wantReqs int
	}{
		{"200 OK", []int{200}, `{"kind":"Status","status":"Success"}`, "", 1},
		{"202 Accepted", []int{202}, `{}`, "", 1},
		{"404 already gone", []int{404}, `{"kind":"Status","message":"not found"}`, "", 1},
		{"409 uid precondition failed", []int{409}, `{"kind":"Status","message":"Precondition failed: UID in precondition: u1, UID in object meta: u2"}`, "", 1},
		{"403 forbidden", []int{403}, forbidden, `deleting widgets ns/w: 403 Forbidden: widgets.example.com "w" is forbidden: cannot delete`, 1},
		{"403 with a non-Status body", []int{403}, "RAW-BODY-MARKER", "deleting widgets ns/w: 403 Forbidden", 1},
		{"401", []int{401}, `{"message":"Unauthorized"}`, "401 Unauthorized: Unauthorized", 1},
		{"500 then 200", []int{500, 200}, `{}`, "", 2},
		{"429 then 503 then 200", []int{429, 503, 200}, `{}`, "", 3},
		{"always 500", []int{500}, `{"message":"etcdserver: request timed out"}`, "after 4 attempts: 500 Internal Server Error: etcdserver: request timed out", 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newAPIServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
				code := tc.codes[min(n, len(tc.codes))-1]
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(code)
				io.WriteString(w, tc.body)
			})
			err := srv.client("tok-456").Delete(context.Background(), widgets, "ns", "w", "u1")
			if tc.wantErr == "" && err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want it to contain %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "RAW-BODY-MARKER") || strings.Contains(err.Error(), "{") {
					t.Errorf("error echoes the raw body: %v", err)
				}
			}
			reqs := srv.requests()
			if len(reqs) != tc.wantReqs {
				t.Fatalf("%d requests, want %d", len(reqs), tc.wantReqs)
			}
			for i, r := range reqs {
				if r.Method != http.MethodDelete || r.Path != "/apis/example.com/v1alpha1/namespaces/ns/widgets/w" {
					t.Errorf("request %d: %s %s", i, r.Method, r.Path)
				}
				if r.Auth != "Bearer tok-456" || r.ContentType != "application/json" {
					t.Errorf("request %d: Authorization %q, Content-Type %q", i, r.Auth, r.ContentType)
				}
				var opts struct {
					APIVersion    string            `json:"apiVersion"`
					Kind          string            `json:"kind"`
					Preconditions map[string]string `json:"preconditions"`
				}
				dec := json.NewDecoder(strings.NewReader(string(r.Body)))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&opts); err != nil {
					t.Fatalf("request %d: body %q: %v", i, r.Body, err)
				}
				if opts.APIVersion != "v1" || opts.Kind != "DeleteOptions" || len(opts.Preconditions) != 1 || opts.Preconditions["uid"] != "u1" {
					t.Errorf("request %d: DeleteOptions %+v", i, opts)
				}
			}
		})
	}
}

func TestDeleteRequiresUID(t *testing.T) {
	srv := newAPIServer(t, func(w http.ResponseWriter, r *http.Request, n int) { w.WriteHeader(200) })
	err := srv.client("t").Delete(context.Background(), widgets, "ns", "w", "")
	if err == nil || !strings.Contains(err.Error(), "uid is required") {
		t.Fatalf("error %v", err)
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// TestContextCancelStopsRetries: the server fails every request; the
// context is cancelled once the first one arrives, so no retry follows.
func TestContextCancelStopsRetries(t *testing.T) {
	for _, verb := range []string{"delete", "list"} {
		t.Run(verb, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			srv := newAPIServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
				cancel()
				writeJSON(w, http.StatusServiceUnavailable, status(503, "ServiceUnavailable", "try later"))
			})
			c := srv.client("t")
			var err error
			if verb == "delete" {
				err = c.Delete(ctx, widgets, "ns", "w", "u1")
			} else {
				_, err = c.List(ctx, widgets, "")
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("error %v, want context.Canceled", err)
			}
			if n := len(srv.requests()); n != 1 {
				t.Errorf("%d requests after cancellation, want 1", n)
			}
		})
	}
	t.Run("already cancelled", func(t *testing.T) {
		var calls atomic.Int32
		srv := newAPIServer(t, func(w http.ResponseWriter, r *http.Request, n int) { calls.Add(1) })
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := srv.client("t").Delete(ctx, widgets, "ns", "w", "u1")
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
		if calls.Load() != 0 {
			t.Errorf("%d requests with a cancelled context", calls.Load())
		}
	})
}

// TestDeadlineDuringRetryWait: a run whose time ends while it waits to
// retry says what failed, not only that time ran out.
func TestDeadlineDuringRetryWait(t *testing.T) {
	srv := newAPIServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, http.StatusServiceUnavailable, status(503, "ServiceUnavailable", "etcd is unavailable"))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond) // less than the first wait
	defer cancel()
	_, err := srv.client("t").List(ctx, widgets, "")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "etcd is unavailable") {
		t.Errorf("error %v, want the deadline and the answer before it", err)
	}
}

// TestRetryAfter: a 429's Retry-After is honoured (in whole seconds), and
// bounded.
func TestRetryAfter(t *testing.T) {
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"1", time.Second},
		{" 2 ", 2 * time.Second},
		{"3600", maxRetryAfter},
		{"0", 0},
		{"-1", 0},
		{"Wed, 21 Oct 2026 07:28:00 GMT", 0},
		{"", 0},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.header); got != tt.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}

	var times []time.Time
	srv := newAPIServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		times = append(times, time.Now())
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusTooManyRequests, status(429, "TooManyRequests", "slow down"))
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"kind": "WidgetList", "items": []any{}})
	})
	if _, err := srv.client("t").List(context.Background(), widgets, ""); err != nil {
		t.Fatal(err)
	}
	if len(times) != 2 || times[1].Sub(times[0]) < time.Second {
		t.Errorf("%d requests, the retry %v after the 429; want it a second later", len(times), times[len(times)-1].Sub(times[0]))
	}
}

func TestNewInCluster(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if _, err := NewInCluster(env(nil)); err == nil || !strings.Contains(err.Error(), "no platform API") {
		t.Errorf("no environment: %v", err)
	}
	if _, err := NewInCluster(env(map[string]string{"KUBERNETES_SERVICE_HOST": "10.0.0.1"})); err == nil {
		t.Error("host without port accepted")
	}
	if _, statErr := os.Stat(filepath.Join(serviceAccountDir, "ca.crt")); statErr == nil {
		t.Skip("running in a Pod with a service account")
	}
	_, err := NewInCluster(env(map[string]string{"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}))
	if err == nil || !strings.Contains(err.Error(), "service account's CA") {
		t.Errorf("no service account: %v", err)
	}
}

// TestTimeout: each request's limit is DefaultTimeout unless WithTimeout
// sets another; a limit of zero or less keeps the default.
func TestTimeout(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		want time.Duration
	}{
		{"default", nil, DefaultTimeout},
		{"set", []Option{WithTimeout(3 * time.Second)}, 3 * time.Second},
		{"zero keeps the default", []Option{WithTimeout(0)}, DefaultTimeout},
		{"negative keeps the default", []Option{WithTimeout(-time.Second)}, DefaultTimeout},
		{"the last one counts", []Option{WithTimeout(time.Second), WithTimeout(2 * time.Second)}, 2 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := NewServer("https://127.0.0.1", "t", nil, tc.opts...).timeout; got != tc.want {
				t.Errorf("timeout %v, want %v", got, tc.want)
			}
		})
	}

	// A server that never answers: every attempt ends at the limit (some
	// perhaps before the server has read the request, so the server's
	// count is not checked), and the error says so.
	srv := newAPIServer(t, func(w http.ResponseWriter, r *http.Request, n int) { <-r.Context().Done() })
	c := NewServer(srv.URL, "t", srv.Client(), WithTimeout(20*time.Millisecond))
	_, err := c.List(context.Background(), widgets, "")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "after 4 attempts") {
		t.Errorf("error %v, want each of 4 attempts to end at the limit", err)
	}
}

// writeObject writes obj where the local runner keeps it.
func writeObject(t *testing.T, dir, ns, name, uid string) string {
	t.Helper()
	p, err := LocalPath(dir, widgets, ns, name)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	y := fmt.Sprintf("apiVersion: example.com/v1alpha1\nkind: Widget\nmetadata:\n  name: %s\n  namespace: %s\n  uid: %s\nspec:\n  size: 1\n", name, ns, uid)
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func localClient(t *testing.T, dir string) *Dir {
	t.Helper()
	return NewDir(dir)
}

func TestLocalList(t *testing.T) {
	dir := t.TempDir()
	writeObject(t, dir, "b", "w2", "u2")
	writeObject(t, dir, "a", "w1", "u1")
	writeObject(t, dir, "a", "w0", "u0")
	// Not listed: another plural, and a file that is not .yaml.
	other := Resource{Group: "example.com", Version: "v1alpha1", Plural: "gadgets"}
	op, _ := LocalPath(dir, other, "a", "g1")
	os.MkdirAll(filepath.Dir(op), 0o755)
	os.WriteFile(op, []byte("apiVersion: example.com/v1alpha1\nkind: Gadget\nmetadata: {name: g1}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "example.com", "widgets", "a", "notes.txt"), []byte("x"), 0o644)

	c := localClient(t, dir)
	tests := []struct {
		name      string
		r         Resource
		namespace string
		want      []string
		wantErr   string
	}{
		{"all namespaces, sorted", widgets, "", []string{"a/w0/u0", "a/w1/u1", "b/w2/u2"}, ""},
		{"one namespace", widgets, "a", []string{"a/w0/u0", "a/w1/u1"}, ""},
		{"empty namespace dir", widgets, "none", nil, ""},
		{"unknown resource", Resource{Group: "x.io", Version: "v1", Plural: "things"}, "", nil, ""},
		{"namespace ..", widgets, "..", nil, `invalid object path element ".."`},
		{"namespace with slash", widgets, "a/../..", nil, "invalid object path element"},
		{"namespace glob", widgets, "*", nil, "invalid object path element"},
		{"group ..", Resource{Group: "..", Plural: "widgets"}, "", nil, "invalid object path element"},
		{"empty plural", Resource{Group: "example.com"}, "", nil, "invalid object path element"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := c.List(context.Background(), tc.r, tc.namespace)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range objs {
				got = append(got, o.Metadata.Namespace+"/"+o.Metadata.Name+"/"+o.Metadata.UID)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("malformed object", func(t *testing.T) {
		bad := filepath.Join(dir, "example.com", "widgets", "c", "bad.yaml")
		os.MkdirAll(filepath.Dir(bad), 0o755)
		os.WriteFile(bad, []byte("kind: [\n"), 0o644)
		if _, err := c.List(context.Background(), widgets, "c"); err == nil || !strings.Contains(err.Error(), "listing widgets") {
			t.Fatalf("error %v", err)
		}
	})
}

func TestLocalDelete(t *testing.T) {
	tests := []struct {
		name       string
		exists     bool
		fileUID    string
		deleteUID  string
		wantErr    string
		wantRemain bool
	}{
		{"matching uid removes", true, "u1", "u1", "", false},
		{"other uid keeps the newer object", true, "u2", "u1", "", true},
		{"missing file is success", false, "", "u1", "", false},
		{"uid required", true, "u1", "", "uid is required", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p, _ := LocalPath(dir, widgets, "ns", "w")
			if tc.exists {
				writeObject(t, dir, "ns", "w", tc.fileUID)
			}
			sibling := writeObject(t, dir, "ns", "other", tc.deleteUID+"x")
			err := localClient(t, dir).Delete(context.Background(), widgets, "ns", "w", tc.deleteUID)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatalf("Delete: %v", err)
			}
			_, statErr := os.Stat(p)
			if remains := statErr == nil; remains != tc.wantRemain {
				t.Errorf("file remains: %v, want %v", remains, tc.wantRemain)
			}
			if _, err := os.Stat(sibling); err != nil {
				t.Errorf("sibling object touched: %v", err)
			}
		})
	}
	t.Run("invalid name", func(t *testing.T) {
		err := localClient(t, t.TempDir()).Delete(context.Background(), widgets, "ns", "../w", "u1")
		if err == nil || !strings.Contains(err.Error(), "invalid object path element") {
			t.Fatalf("error %v", err)
		}
	})
}

func TestLocalPath(t *testing.T) {
	tests := []struct {
		name      string
		r         Resource
		ns, obj   string
		want      string
		wantError bool
	}{
		{"ok", widgets, "team-a", "w1", "/d/example.com/widgets/team-a/w1.yaml", false},
		{"dots inside a name are fine", widgets, "ns", "a..b", "/d/example.com/widgets/ns/a..b.yaml", false},
		{"empty group", Resource{Plural: "widgets"}, "ns", "w", "", true},
		{"empty plural", Resource{Group: "example.com"}, "ns", "w", "", true},
		{"empty namespace", widgets, "", "w", "", true},
		{"empty name", widgets, "ns", "", "", true},
		{"dot-dot namespace", widgets, "..", "w", "", true},
		{"dot-dot name", widgets, "ns", "..", "", true},
		{"dot name", widgets, "ns", ".", "", true},
		{"dot-dot group", Resource{Group: "..", Plural: "widgets"}, "ns", "w", "", true},
		{"slash in name", widgets, "ns", "a/b", "", true},
		{"absolute name", widgets, "ns", "/etc/passwd", "", true},
		{"slash in namespace", widgets, "a/b", "w", "", true},
		{"backslash", widgets, "ns", `a\b`, "", true},
		{"slash in plural", Resource{Group: "example.com", Plural: "w/x"}, "ns", "w", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LocalPath("/d", tc.r, tc.ns, tc.obj)
			if tc.wantError {
				if err == nil {
					t.Fatalf("LocalPath = %q, want an error", got)
				}
				if !strings.Contains(err.Error(), "invalid object path element") {
					t.Errorf("error %q", err)
				}
				return
			}
			if err != nil || got != filepath.FromSlash(tc.want) {
				t.Errorf("LocalPath = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestDirRoot: a Dir works wherever its root is, whatever characters the
// root's path holds (the runner's state store is the user's choice).
func TestDirRoot(t *testing.T) {
	tests := []struct {
		name string
		root string
	}{
		{"plain", "store"},
		{"glob characters", "a[b]*?"},
		{"spaces and dots", "my store/..x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), tc.root)
			p := writeObject(t, dir, "ns", "w", "u1")
			d := NewDir(dir)
			objs, err := d.List(context.Background(), widgets, "")
			if err != nil || len(objs) != 1 || objs[0].Metadata.UID != "u1" {
				t.Fatalf("List: %v objects, %v", len(objs), err)
			}
			if err := d.Delete(context.Background(), widgets, "ns", "w", "u1"); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if _, err := os.Stat(p); !os.IsNotExist(err) {
				t.Errorf("object file remains: %v", err)
			}
		})
	}
}
