// Package platformapi reads and deletes Kratix resource requests on the
// platform cluster, for the few stages that must see beyond their own object
// (sibling requests, or an expired request deleting itself).
//
// It speaks the Kubernetes REST API with net/http and the Pod's service
// account instead of client-go: client-go and its scheme would add well over
// 10 MiB and tens of milliseconds of package initialisation to every run of
// a binary that needs two verbs on one resource.
//
// Two implementations of API exist: Client, the cluster's API server, and
// Dir, a directory of objects such as the one the local runner keeps. This
// package never chooses between them: a binary's main does.
package platformapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/promisekit/promisekit/pkg/kratix"
)

// Where Kubernetes mounts a Pod's service-account credentials.
const (
	serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"
	maxListBytes      = 32 << 20
)

// Resource names a custom resource's API.
type Resource struct {
	Group   string
	Version string
	Plural  string
}

// API is the platform API as the stages use it: list the objects of a
// resource, and delete one object if it is still the one the caller saw.
// Client (the cluster's API server) and Dir (a directory of objects)
// implement it.
type API interface {
	// List returns every object of r in namespace ("" for all namespaces).
	List(ctx context.Context, r Resource, namespace string) ([]*kratix.Object, error)
	// Delete deletes the object namespace/name of r if its UID is uid. An
	// object that is already gone, or replaced, counts as deleted.
	Delete(ctx context.Context, r Resource, namespace, name, uid string) error
}

var (
	_ API = (*Client)(nil)
	_ API = (*Dir)(nil)
)

// DefaultTimeout bounds each request to the API server (each attempt: a
// retry has its own) unless WithTimeout sets another limit.
const DefaultTimeout = 15 * time.Second

// Client is the cluster's API server, spoken to over HTTPS. Create it with
// NewInCluster or NewServer.
type Client struct {
	baseURL  string
	token    func() (string, error)
	http     *http.Client
	timeout  time.Duration
	pageSize int
}

// Connect returns the platform API where a stage runs, with the options
// its configuration sets. A binary's main chooses it (see package
// internal/localrun/localapi); tests pass one for a fake server.
type Connect func(getenv func(string) string, opts ...Option) (API, error)

// Option configures a Client.
type Option func(*Client)

// WithTimeout bounds each request to the API server (each attempt; a retry
// has its own) to d instead of DefaultTimeout. Zero or less keeps
// DefaultTimeout, so an unset configuration setting can be passed as is.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// DefaultPageSize is how many objects a list asks for at a time unless
// WithPageSize says otherwise.
const DefaultPageSize = 500

// WithPageSize makes a list ask for n objects at a time (the API server's
// limit parameter) instead of DefaultPageSize; zero or less keeps it.
func WithPageSize(n int) Option {
	return func(c *Client) {
		if n > 0 {
			c.pageSize = n
		}
	}
}

func (c *Client) apply(opts []Option) *Client {
	c.timeout = DefaultTimeout
	c.pageSize = DefaultPageSize
	for _, o := range opts {
		o(c)
	}
	return c
}

// NewInCluster returns a client for the cluster's API server through the
// Pod's service account: the address from KUBERNETES_SERVICE_HOST and
// KUBERNETES_SERVICE_PORT (read with getenv), the CA and the token from
// the service account's mounted files.
func NewInCluster(getenv func(string) string, opts ...Option) (*Client, error) {
	host, port := getenv("KUBERNETES_SERVICE_HOST"), getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return nil, errors.New("no platform API: KUBERNETES_SERVICE_HOST/PORT is not set (not running in a Pod)")
	}
	caPEM, err := os.ReadFile(filepath.Join(serviceAccountDir, "ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("reading the service account's CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("the service account's ca.crt holds no certificate")
	}
	transport := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 10 * time.Second,
	}
	c := &Client{
		baseURL: "https://" + net.JoinHostPort(host, port),
		http:    &http.Client{Transport: transport},
		// The kubelet rotates projected tokens; read the file on each use.
		token: func() (string, error) {
			b, err := os.ReadFile(filepath.Join(serviceAccountDir, "token"))
			if err != nil {
				return "", fmt.Errorf("reading the service account token: %w", err)
			}
			return strings.TrimSpace(string(b)), nil
		},
	}
	return c.apply(opts), nil
}

// NewServer returns a client for the API server at baseURL that presents
// token. hc carries the TLS configuration (nil: http.DefaultClient).
func NewServer(baseURL, token string, hc *http.Client, opts ...Option) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	c := &Client{
		baseURL: strings.TrimSuffix(baseURL, "/"),
		http:    hc,
		token:   func() (string, error) { return token, nil },
	}
	return c.apply(opts)
}

// List returns every object of r in namespace ("" for all namespaces).
func (c *Client) List(ctx context.Context, r Resource, namespace string) ([]*kratix.Object, error) {
	return c.ListWhere(ctx, r, namespace)
}

// maxListRestarts bounds how often a list starts over after its continue
// token expired.
const maxListRestarts = 3

// ListWhere returns the objects of r in namespace ("" for all namespaces)
// whose fields equal the values given, asking the API server to select
// them (a field selector, which a CRD allows on the fields it declares in
// selectableFields, from Kubernetes 1.31). A server that refuses the
// selector, being older or serving a CRD without those selectableFields,
// answers 400 "field label not supported"; the list is then made whole and
// the objects are selected here, with the same result.
//
// Pages of WithPageSize objects are read with limit/continue. When a page
// takes so long to follow that etcd has compacted the revision the list
// started at, the server answers 410 Gone; the list then starts over, so
// that what it returns is one consistent snapshot, a few times at most.
// The whole list of the fallback starts over the same way.
func (c *Client) ListWhere(ctx context.Context, r Resource, namespace string, fields ...Field) ([]*kratix.Object, error) {
	selector, selectHere := fieldSelector(fields), false
	for restarts := 0; ; {
		objs, err := c.list(ctx, r, namespace, selector)
		switch {
		case errors.Is(err, errFieldLabel) && selector != "":
			selector, selectHere = "", true // the same list, not a restart
			continue
		case errors.Is(err, errExpired) && restarts < maxListRestarts:
			restarts++
			continue
		case err != nil:
			return nil, err
		}
		if selectHere {
			return selectFields(objs, fields), nil
		}
		return objs, nil
	}
}

var (
	errFieldLabel = errors.New("field selector not supported")
	errExpired    = errors.New("continue token expired")
)

func (c *Client) list(ctx context.Context, r Resource, namespace, selector string) ([]*kratix.Object, error) {
	var objs []*kratix.Object
	cont := ""
	for {
		q := url.Values{"limit": {strconv.Itoa(c.pageSize)}}
		if cont != "" {
			q.Set("continue", cont)
		}
		if selector != "" {
			q.Set("fieldSelector", selector)
		}
		var page struct {
			Items    []*kratix.Object `json:"items"`
			Metadata struct {
				Continue string `json:"continue"`
			} `json:"metadata"`
		}
		body, status, err := c.do(ctx, http.MethodGet, c.collectionPath(r, namespace)+"?"+q.Encode(), nil)
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", r.Plural, err)
		}
		switch {
		case status == http.StatusBadRequest && selector != "" && strings.Contains(statusError(status, body), "field label not supported"):
			return nil, fmt.Errorf("listing %s: %w: %s", r.Plural, errFieldLabel, statusError(status, body))
		case status == http.StatusGone && cont != "":
			return nil, fmt.Errorf("listing %s: %w: %s", r.Plural, errExpired, statusError(status, body))
		case status == http.StatusNotFound:
			// The API server answers 404 for a group, version or resource
			// it does not serve: the Promise of the kind is not installed.
			return nil, fmt.Errorf("listing %s: %s (the platform API does not serve %s/%s %s: is its Promise installed?)", r.Plural, statusError(status, body), r.Group, r.Version, r.Plural)
		case status != http.StatusOK:
			return nil, fmt.Errorf("listing %s: %s", r.Plural, statusError(status, body))
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, fmt.Errorf("listing %s: decoding response: %w", r.Plural, err)
		}
		objs = append(objs, page.Items...)
		if cont = page.Metadata.Continue; cont == "" {
			return objs, nil
		}
	}
}

// Delete deletes the object namespace/name of r if its UID is uid, so a
// newer object that reused the name is never touched. An object that is
// already gone, or replaced, counts as deleted.
func (c *Client) Delete(ctx context.Context, r Resource, namespace, name, uid string) error {
	if uid == "" {
		return errNoUID(r, namespace, name)
	}
	opts, _ := json.Marshal(map[string]any{
		"apiVersion":    "v1",
		"kind":          "DeleteOptions",
		"preconditions": map[string]string{"uid": uid},
	})
	path := c.collectionPath(r, namespace) + "/" + url.PathEscape(name)
	body, status, err := c.do(ctx, http.MethodDelete, path, opts)
	if err != nil {
		return fmt.Errorf("deleting %s %s/%s: %w", r.Plural, namespace, name, err)
	}
	switch status {
	case http.StatusOK, http.StatusAccepted, http.StatusNotFound:
		return nil
	case http.StatusConflict:
		// The UID precondition failed: the name now belongs to a newer object.
		return nil
	}
	return fmt.Errorf("deleting %s %s/%s: %s", r.Plural, namespace, name, statusError(status, body))
}

func errNoUID(r Resource, namespace, name string) error {
	return fmt.Errorf("deleting %s %s/%s: the object's uid is required", r.Plural, namespace, name)
}

func (c *Client) collectionPath(r Resource, namespace string) string {
	p := "/apis/" + url.PathEscape(r.Group) + "/" + url.PathEscape(r.Version)
	if namespace != "" {
		p += "/namespaces/" + url.PathEscape(namespace)
	}
	return p + "/" + url.PathEscape(r.Plural)
}

// do sends one request, retrying transport errors and 429/5xx answers a few
// times: both verbs used here are idempotent. A 429 or 503 with
// Retry-After (the API server's priority and fairness sends one) waits as
// long as it asks, up to maxRetryAfter.
func (c *Client) do(ctx context.Context, method, path string, body []byte) ([]byte, int, error) {
	token, err := c.token()
	if err != nil {
		return nil, 0, err
	}
	const attempts = 4
	delay := 200 * time.Millisecond
	var lastErr error
	wait := time.Duration(0)
	for i := range attempts {
		if i > 0 {
			select {
			case <-ctx.Done():
				return nil, 0, fmt.Errorf("%w, after: %w", ctx.Err(), lastErr)
			case <-time.After(max(wait, delay)):
			}
			delay *= 2
			wait = 0
		}
		rctx, cancel := context.WithTimeout(ctx, c.timeout)
		req, err := http.NewRequestWithContext(rctx, method, c.baseURL+path, bytes.NewReader(body))
		if err != nil {
			cancel()
			return nil, 0, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.http.Do(req)
		if err != nil {
			cancel()
			lastErr = err
			continue
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxListBytes))
		resp.Body.Close()
		cancel()
		if err != nil {
			lastErr = err
			continue
		}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			lastErr = errors.New(statusError(resp.StatusCode, data))
			wait = retryAfter(resp.Header.Get("Retry-After"))
			continue
		}
		return data, resp.StatusCode, nil
	}
	return nil, 0, fmt.Errorf("after %d attempts: %w", attempts, lastErr)
}

// maxRetryAfter bounds how long a Retry-After can hold a stage.
const maxRetryAfter = 10 * time.Second

// retryAfter reads a Retry-After in seconds, the form the API server
// sends; anything else is no wait.
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 {
		return 0
	}
	return min(time.Duration(n)*time.Second, maxRetryAfter)
}

// statusError describes a failed answer by the API server's Status message,
// never by echoing an arbitrary body.
func statusError(code int, body []byte) string {
	var s struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &s) == nil && s.Message != "" {
		msg := s.Message
		if r := []rune(msg); len(r) > 300 {
			msg = string(r[:300]) + "…"
		}
		return fmt.Sprintf("%d %s: %s", code, http.StatusText(code), msg)
	}
	return fmt.Sprintf("%d %s", code, http.StatusText(code))
}
