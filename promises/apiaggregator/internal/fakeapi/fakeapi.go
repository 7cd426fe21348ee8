// Package fakeapi is a Kubernetes API server for tests of stages that read
// custom resources through pkg/platformapi. It serves list requests over TLS
// from objects the test puts in it, paginated as the real server does, and
// answers every call that the granted permissions do not cover with 403
// Forbidden, as an API server enforcing a Promise's RBAC would. A test that
// passes with the Promise's own permissions as grants shows that they are
// enough, and that the stage makes no other call.
package fakeapi

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/pkg/platformapi"
)

// Grant allows one verb on one resource, in every namespace.
type Grant struct {
	Group    string
	Resource string // plural
	Verb     string // list, delete, …
}

// Server is a running fake API server.
type Server struct {
	srv    *httptest.Server
	token  string
	grants []Grant
	// PageSize is the most items one list answer holds, so that tests
	// exercise the client's continue handling; 0 means the client's limit.
	PageSize int

	mu       sync.Mutex
	objects  map[string][]object // by "group/plural"
	requests []string
}

type object struct {
	namespace, name string
	json            json.RawMessage
}

// New starts a server that allows grants; it stops when the test ends.
func New(t testing.TB, grants ...Grant) *Server {
	s := &Server{token: "fakeapi-test-token", grants: grants, objects: map[string][]object{}}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the server's base URL.
func (s *Server) URL() string { return s.srv.URL }

// HTTPClient returns an HTTP client that trusts the server's certificate.
func (s *Server) HTTPClient() *http.Client { return s.srv.Client() }

// Token is the bearer token the server accepts, for a client that reaches
// it another way (through a proxy).
func (s *Server) Token() string { return s.token }

// Client returns a platform API client for the server.
func (s *Server) Client() *platformapi.Client {
	return platformapi.NewServer(s.srv.URL, s.token, s.srv.Client())
}

// Put stores an object given as YAML or JSON, replacing one of the same
// namespace and name.
func (s *Server) Put(r platformapi.Resource, objYAML []byte) error {
	js, err := yaml.YAMLToJSONStrict(objYAML)
	if err != nil {
		return err
	}
	var head struct {
		Metadata struct{ Name, Namespace string } `json:"metadata"`
	}
	if err := json.Unmarshal(js, &head); err != nil {
		return err
	}
	if head.Metadata.Name == "" || head.Metadata.Namespace == "" {
		return fmt.Errorf("fakeapi: object needs metadata.name and metadata.namespace")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := r.Group + "/" + r.Plural
	objs := slices.DeleteFunc(s.objects[key], func(o object) bool {
		return o.namespace == head.Metadata.Namespace && o.name == head.Metadata.Name
	})
	objs = append(objs, object{head.Metadata.Namespace, head.Metadata.Name, js})
	slices.SortFunc(objs, func(a, b object) int {
		return cmp.Or(cmp.Compare(a.namespace, b.namespace), cmp.Compare(a.name, b.name))
	})
	s.objects[key] = objs
	return nil
}

// Remove deletes an object if it is there.
func (s *Server) Remove(r platformapi.Resource, namespace, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := r.Group + "/" + r.Plural
	s.objects[key] = slices.DeleteFunc(s.objects[key], func(o object) bool {
		return o.namespace == namespace && o.name == name
	})
}

// Requests returns every request received, as "METHOD path?query".
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.RequestURI())
	s.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+s.token {
		writeStatus(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	group, namespace, plural, name, ok := parsePath(r.URL.Path)
	if !ok {
		writeStatus(w, http.StatusNotFound, "the server could not find the requested resource")
		return
	}
	verb := strings.ToLower(r.Method)
	switch {
	case r.Method == http.MethodGet && name == "":
		verb = "list"
	case r.Method == http.MethodGet:
		verb = "get"
	}
	if !s.allowed(group, plural, verb) {
		writeStatus(w, http.StatusForbidden, fmt.Sprintf("%s is forbidden: cannot %s resource %q in API group %q", plural, verb, plural, group))
		return
	}
	if verb != "list" {
		writeStatus(w, http.StatusMethodNotAllowed, "fakeapi serves list only")
		return
	}
	s.list(w, r, group, namespace, plural)
}

func (s *Server) allowed(group, plural, verb string) bool {
	return slices.ContainsFunc(s.grants, func(g Grant) bool {
		return g.Group == group && g.Resource == plural && g.Verb == verb
	})
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, group, namespace, plural string) {
	s.mu.Lock()
	var items []json.RawMessage
	for _, o := range s.objects[group+"/"+plural] {
		if namespace == "" || o.namespace == namespace {
			items = append(items, o.json)
		}
	}
	s.mu.Unlock()
	start, _ := strconv.Atoi(r.URL.Query().Get("continue"))
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if s.PageSize > 0 && (limit == 0 || s.PageSize < limit) {
		limit = s.PageSize
	}
	start = min(max(start, 0), len(items))
	end := len(items)
	if limit > 0 {
		end = min(start+limit, len(items))
	}
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	page := struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   map[string]string `json:"metadata"`
		Items      []json.RawMessage `json:"items"`
	}{"v1", "List", map[string]string{"continue": next}, items[start:end]}
	if page.Items == nil {
		page.Items = []json.RawMessage{}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(page)
}

// parsePath splits /apis/<group>/<version>[/namespaces/<ns>]/<plural>[/<name>].
func parsePath(p string) (group, namespace, plural, name string, ok bool) {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) < 4 || parts[0] != "apis" {
		return "", "", "", "", false
	}
	group, rest := parts[1], parts[3:]
	if rest[0] == "namespaces" {
		if len(rest) < 3 {
			return "", "", "", "", false
		}
		namespace, rest = rest[1], rest[2:]
	}
	switch len(rest) {
	case 1:
		return group, namespace, rest[0], "", true
	case 2:
		return group, namespace, rest[0], rest[1], true
	}
	return "", "", "", "", false
}

func writeStatus(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"apiVersion": "v1", "kind": "Status", "status": "Failure", "message": msg, "code": code})
}
