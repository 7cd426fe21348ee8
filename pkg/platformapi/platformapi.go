// Package platformapi reads and deletes Kratix resource requests on the
// platform cluster, for the few stages that must see beyond their own object
// (sibling requests, or an expired request deleting itself).
//
// It speaks the Kubernetes REST API with net/http and the Pod's service
// account instead of client-go: client-go and its scheme would add well over
// 10 MiB and tens of milliseconds of package initialisation to every run of
// a binary that needs two verbs on one resource. Outside a cluster (the local
// runner, tests) the same calls read a directory of objects instead.
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

// LocalVariable names the object directory the local runner keeps; when set,
// the client works on it instead of an API server.
const LocalVariable = "PROMISEKIT_LOCAL_API"

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

// Client is a platform API client. Create it with New or NewServer.
type Client struct {
	baseURL  string
	token    func() (string, error)
	http     *http.Client
	localDir string
}

// New returns a client for where the stage runs: the local runner's object
// directory when PROMISEKIT_LOCAL_API is set, else the cluster's API server
// through the Pod's service account.
func New(getenv func(string) string) (*Client, error) {
	if dir := getenv(LocalVariable); dir != "" {
		return &Client{localDir: dir}, nil
	}
	host, port := getenv("KUBERNETES_SERVICE_HOST"), getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return nil, fmt.Errorf("no platform API: neither %s nor KUBERNETES_SERVICE_HOST/PORT is set", LocalVariable)
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
	return c, nil
}

// NewServer returns a client for the API server at baseURL that presents
// token. hc carries the TLS configuration (nil: http.DefaultClient).
func NewServer(baseURL, token string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{
		baseURL: strings.TrimSuffix(baseURL, "/"),
		http:    hc,
		token:   func() (string, error) { return token, nil },
	}
}

// List returns every object of r in namespace ("" for all namespaces).
func (c *Client) List(ctx context.Context, r Resource, namespace string) ([]*kratix.Object, error) {
	if c.localDir != "" {
		return c.listLocal(r, namespace)
	}
	var objs []*kratix.Object
	cont := ""
	for {
		q := url.Values{"limit": {"500"}}
		if cont != "" {
			q.Set("continue", cont)
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
		if status != http.StatusOK {
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
		return fmt.Errorf("deleting %s %s/%s: the object's uid is required", r.Plural, namespace, name)
	}
	if c.localDir != "" {
		return c.deleteLocal(r, namespace, name, uid)
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
		rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
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
