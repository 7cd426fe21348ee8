package platformapi

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A connection directory names an API server outside a cluster, for the
// local runner and the binaries it runs (internal/localrun/localapi): the
// files url (https://host:port), ca.crt (PEM) and token (a bearer token,
// mode 0600). cmd/demo-apiserver writes one for the server it runs.
const (
	connURL   = "url"
	connCA    = "ca.crt"
	connToken = "token"
)

// Connection is an API server named by a connection directory.
type Connection struct {
	URL   string
	Token string
	HTTP  *http.Client
}

// ReadConnection reads the connection directory dir.
func ReadConnection(dir string) (*Connection, error) {
	read := func(name string) (string, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return "", fmt.Errorf("reading the API server connection: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	u, err := read(connURL)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(u, "https://") {
		return nil, fmt.Errorf("the API server connection in %s: url %q is not https", dir, u)
	}
	caPEM, err := read(connCA)
	if err != nil {
		return nil, err
	}
	token, err := read(connToken)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(caPEM)) {
		return nil, errors.New("the API server connection's ca.crt holds no certificate")
	}
	transport := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 10 * time.Second,
	}
	return &Connection{URL: u, Token: token, HTTP: &http.Client{Transport: transport}}, nil
}

// WriteConnection writes a connection directory for the API server at url.
func WriteConnection(dir, url string, caPEM []byte, token string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for name, data := range map[string][]byte{connURL: []byte(url + "\n"), connCA: caPEM, connToken: []byte(token + "\n")} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return fmt.Errorf("writing the API server connection: %w", err)
		}
	}
	return nil
}

// NewFromConnection returns a client for the API server the connection
// directory dir names.
func NewFromConnection(dir string, opts ...Option) (*Client, error) {
	c, err := ReadConnection(dir)
	if err != nil {
		return nil, err
	}
	return NewServer(c.URL, c.Token, c.HTTP, opts...), nil
}
