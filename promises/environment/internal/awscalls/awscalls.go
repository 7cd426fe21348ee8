// Package awscalls is a recording reverse proxy for tests and benchmarks.
// Put it between an AWS SDK client and an AWS endpoint (moto_server, a fake)
// and it names every call by service and operation, so that a test can show
// that a re-run made read calls only, or in which order a delete went.
//
// It also stands in for the network failing: a fault function can make the
// proxy drop chosen calls before they reach the endpoint, which is how tests
// stop a stage between two outside calls.
package awscalls

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Call names one AWS API call.
type Call struct {
	Service   string // the signing name: ecr, iam, eks, sts
	Operation string // e.g. CreateRepository
}

func (c Call) String() string { return c.Service + ":" + c.Operation }

// Mutating reports whether the operation may change anything. AWS names its
// read operations Describe*, Get*, List* and BatchGet*/BatchCheck*.
func (c Call) Mutating() bool {
	for _, p := range []string{"Describe", "Get", "List", "BatchGet", "BatchCheck"} {
		if strings.HasPrefix(c.Operation, p) {
			return false
		}
	}
	return true
}

// Proxy forwards requests to one upstream endpoint and records each call.
// It is safe for concurrent use.
type Proxy struct {
	forward *httputil.ReverseProxy

	mu    sync.Mutex
	calls []Call
	fault func(Call) bool
}

// New returns a proxy for the endpoint at upstream (e.g. moto's URL).
// Serve it with httptest.NewServer or http.Server.
func New(upstream string) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("awscalls: invalid upstream %q", upstream)
	}
	return &Proxy{forward: httputil.NewSingleHostReverseProxy(u)}, nil
}

// FailWhen makes the proxy drop every call for which fail returns true: the
// connection is closed without an answer, as a crashed network would. nil
// stops failing calls.
func (p *Proxy) FailWhen(fail func(Call) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault = fail
}

// ServeHTTP records the call and forwards it.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	call := Identify(r, body)

	p.mu.Lock()
	p.calls = append(p.calls, call)
	fail := p.fault != nil && p.fault(call)
	p.mu.Unlock()

	if fail {
		// Panicking with ErrAbortHandler makes net/http close the
		// connection without writing a response and without logging.
		panic(http.ErrAbortHandler)
	}
	p.forward.ServeHTTP(w, r)
}

// Calls returns every call recorded since the last Reset, in order.
func (p *Proxy) Calls() []Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls)
}

// Counts returns how often each call was made since the last Reset.
func (p *Proxy) Counts() map[Call]int {
	counts := map[Call]int{}
	for _, c := range p.Calls() {
		counts[c]++
	}
	return counts
}

// Mutating returns the mutating calls since the last Reset, in order.
func (p *Proxy) Mutating() []Call {
	var out []Call
	for _, c := range p.Calls() {
		if c.Mutating() {
			out = append(out, c)
		}
	}
	return out
}

// Reset forgets the recorded calls.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = nil
}

// Summary formats counts as "ecr:DescribeRepositories=2 iam:GetRole=1",
// sorted, for test failure messages.
func Summary(counts map[Call]int) string {
	parts := make([]string, 0, len(counts))
	for c, n := range counts {
		parts = append(parts, fmt.Sprintf("%s=%d", c, n))
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// credentialScopeRE finds the service in a SigV4 Authorization header:
// Credential=<key>/<date>/<region>/<service>/aws4_request.
var credentialScopeRE = regexp.MustCompile(`Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request`)

// Identify names the call an SDK request makes. AWS's three protocols name
// the operation in three places: awsJson in X-Amz-Target, awsQuery in the
// form field Action, restJson in the method and path.
func Identify(r *http.Request, body []byte) Call {
	var c Call
	if m := credentialScopeRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		c.Service = m[1]
	}
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		_, c.Operation, _ = strings.Cut(target, ".")
		return c
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if form, err := url.ParseQuery(string(body)); err == nil && form.Get("Action") != "" {
			c.Operation = form.Get("Action")
			return c
		}
	}
	c.Operation = restOperation(r.Method, r.URL.Path)
	return c
}

// restOperations names the restJson routes the environment promise uses
// (EKS); any other route is named by its method and path.
var restOperations = map[string]string{
	"POST /clusters":     "CreateCluster",
	"GET /clusters":      "ListClusters",
	"GET /clusters/*":    "DescribeCluster",
	"DELETE /clusters/*": "DeleteCluster",
	"POST /clusters/*/pod-identity-associations":     "CreatePodIdentityAssociation",
	"GET /clusters/*/pod-identity-associations":      "ListPodIdentityAssociations",
	"GET /clusters/*/pod-identity-associations/*":    "DescribePodIdentityAssociation",
	"POST /clusters/*/pod-identity-associations/*":   "UpdatePodIdentityAssociation",
	"DELETE /clusters/*/pod-identity-associations/*": "DeletePodIdentityAssociation",
}

func restOperation(method, path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	// Every other segment below /clusters is a name; replace it by "*".
	for i := 1; i < len(segs); i += 2 {
		segs[i] = "*"
	}
	key := method + " /" + strings.Join(segs, "/")
	if op, ok := restOperations[key]; ok {
		return op
	}
	return key
}
