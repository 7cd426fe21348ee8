// Package fakesynadia is a stand-in for the Synadia Cloud API, for tests and
// benchmarks: an HTTP server on 127.0.0.1 that follows the official OpenAPI
// spec (syncp/api/openapi.yaml in github.com/synadia-io/control-plane-sdk-go
// v0.9.0) for the NATS user endpoints: the same paths, methods, status
// codes, JSON field names and text/plain credentials.
//
// It is not a mock: it keeps accounts and users, decodes requests strictly
// (an unknown field is a 400, where the real API may ignore it), and signs
// user JWTs with a real account signing key, so that a nats-server trusting
// its operator accepts the credentials it mints and refuses them once
// revoked. It counts every request by route, so that tests can assert how
// many outside calls a run made, and it can be told to fail requests in the
// ways networks and servers fail (see Fault).
//
// Where the spec is silent the fake takes the harder case: user names need
// not be unique, deleting a user does not revoke its JWTs, and
// jwt_expires_in_secs 0 means credentials that never expire.
package fakesynadia

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"
)

// Routes, as the spec names paths below /api/core/beta.
const (
	RouteVersion       = "GET /version"
	RouteListGroups    = "GET /accounts/{accountId}/account-sk-groups"
	RouteListUsers     = "GET /accounts/{accountId}/nats-users"
	RouteCreateUser    = "POST /accounts/{accountId}/nats-users"
	RouteGetUser       = "GET /nats-users/{userId}"
	RouteUpdateUser    = "PATCH /nats-users/{userId}"
	RouteDeleteUser    = "DELETE /nats-users/{userId}"
	RouteDownloadCreds = "POST /nats-users/{userId}/creds"
	RouteRevokeUser    = "PUT /accounts/{accountId}/nats-user-revocations/{userNkeyPublic}"
	RouteGetRevocation = "GET /accounts/{accountId}/nats-user-revocations/{userNkeyPublic}"
)

const (
	apiPrefix           = "/api/core/beta"
	maxRequestBodyBytes = 1 << 20
	defaultGroupName    = "Default"
	idLength            = 27
	base62              = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	tokenPrefix         = "uat_"
	tokenLength         = 64
)

// Options configure a Server.
type Options struct {
	// Clock is the time credentials are issued at: their expiry is
	// Clock() + the user's jwt_expires_in_secs. Default time.Now. (A JWT's
	// iat is always the wall clock: nats-io/jwt sets it when signing.)
	Clock func() time.Time
	// OnAccountUpdate is called with an account's new JWT whenever an
	// existing account changes (revocations, signing key groups), so that
	// a test's nats-server can apply it.
	OnAccountUpdate func(accountPublicKey, accountJWT string)
}

// Server is a running fake.
type Server struct {
	// URL is the API's base, what a client configures (the spec's
	// {baseUrl}); requests go to URL + "/api/core/beta/...".
	URL string
	// Token is the bearer token the fake accepts; it looks like a personal
	// access token (uat_…).
	Token string

	opts     Options
	http     *httptest.Server
	operator nkeys.KeyPair
	opJWT    string

	mu       sync.Mutex
	accounts map[string]*account
	users    map[string]*user
	order    []string // user IDs in creation order, as lists return them
	calls    map[string]int
	faults   map[string][]Fault
}

type account struct {
	id     string
	name   string
	key    nkeys.KeyPair
	claims *jwt.AccountClaims
	jwt    string
	groups []*group
}

type group struct {
	id     string
	name   string
	key    nkeys.KeyPair
	scoped bool
	// scope is the template of a scoped group's users.
	scope   jwt.UserPermissionLimits
	created time.Time
}

type user struct {
	id           string
	name         string
	accountID    string
	groupID      string
	key          nkeys.KeyPair // Synadia Cloud keeps user seeds; so does the fake
	settings     jwtSettings
	expiresIn    int64
	created      time.Time
	lastExpiry   int64
	issuedTokens int
	// viewJWT and claimsJSON are what the user's view shows.
	viewJWT    string
	claimsJSON json.RawMessage
}

// Start starts a fake with an operator and no accounts.
func Start(opts Options) (*Server, error) {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	op, err := nkeys.CreateOperator()
	if err != nil {
		return nil, err
	}
	opPub, _ := op.PublicKey()
	opClaims := jwt.NewOperatorClaims(opPub)
	opClaims.Name = "fake-synadia"
	opJWT, err := opClaims.Encode(op)
	if err != nil {
		return nil, fmt.Errorf("signing the operator JWT: %w", err)
	}
	s := &Server{
		Token:    tokenPrefix + randomString(tokenLength-len(tokenPrefix)),
		opts:     opts,
		operator: op,
		opJWT:    opJWT,
		accounts: map[string]*account{},
		users:    map[string]*user{},
		calls:    map[string]int{},
		faults:   map[string][]Fault{},
	}
	mux := http.NewServeMux()
	for route, h := range map[string]func(http.ResponseWriter, *http.Request) error{
		RouteVersion:       s.version,
		RouteListGroups:    s.listGroups,
		RouteListUsers:     s.listUsers,
		RouteCreateUser:    s.createUser,
		RouteGetUser:       s.getUser,
		RouteUpdateUser:    s.updateUser,
		RouteDeleteUser:    s.deleteUser,
		RouteDownloadCreds: s.downloadCreds,
		RouteRevokeUser:    s.revokeUser,
		RouteGetRevocation: s.getRevocation,
	} {
		method, path, _ := strings.Cut(route, " ")
		mux.Handle(method+" "+apiPrefix+path, s.endpoint(route, h))
	}
	s.http = httptest.NewServer(mux)
	s.URL = s.http.URL
	return s, nil
}

// Close stops the server, waiting for requests in flight.
func (s *Server) Close() { s.http.Close() }

// OperatorJWT is the operator's JWT, for a nats-server to trust.
func (s *Server) OperatorJWT() string { return s.opJWT }

// Account is an account the fake holds.
type Account struct {
	ID        string
	Name      string
	PublicKey string
	JWT       string // signed by the operator; changes with revocations
	// SigningKeyGroupID is the ID of its unscoped group "Default".
	SigningKeyGroupID string
}

// AddAccount adds an account with an unscoped signing key group "Default".
func (s *Server) AddAccount(name string) (Account, error) {
	key, err := nkeys.CreateAccount()
	if err != nil {
		return Account{}, err
	}
	pub, _ := key.PublicKey()
	a := &account{id: newID(), name: name, key: key, claims: jwt.NewAccountClaims(pub)}
	a.claims.Name = name
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts[a.id] = a
	g, err := s.addGroupLocked(a, defaultGroupName, nil)
	if err != nil {
		return Account{}, err
	}
	return Account{ID: a.id, Name: name, PublicKey: pub, JWT: a.jwt, SigningKeyGroupID: g.id}, nil
}

// AddScopedSigningKeyGroup adds a group to an account whose users all get
// scope's permissions and limits, and returns its ID. The account's new
// JWT goes to Options.OnAccountUpdate.
func (s *Server) AddScopedSigningKeyGroup(accountID, name string, scope jwt.UserPermissionLimits) (string, error) {
	s.mu.Lock()
	a, ok := s.accounts[accountID]
	if !ok {
		s.mu.Unlock()
		return "", fmt.Errorf("no account %s", accountID)
	}
	g, err := s.addGroupLocked(a, name, &scope)
	accountJWT := a.jwt
	s.mu.Unlock()
	if err != nil {
		return "", err
	}
	s.accountUpdated(a, accountJWT)
	return g.id, nil
}

// accountUpdated passes an account's new JWT on.
func (s *Server) accountUpdated(a *account, accountJWT string) {
	if s.opts.OnAccountUpdate != nil {
		pub, _ := a.key.PublicKey()
		s.opts.OnAccountUpdate(pub, accountJWT)
	}
}

func (s *Server) addGroupLocked(a *account, name string, scope *jwt.UserPermissionLimits) (*group, error) {
	key, err := nkeys.CreateAccount()
	if err != nil {
		return nil, err
	}
	pub, _ := key.PublicKey()
	g := &group{id: newID(), name: name, key: key, created: s.opts.Clock().UTC()}
	if scope != nil {
		g.scoped, g.scope = true, *scope
		us := jwt.NewUserScope()
		us.Key, us.Role, us.Template = pub, name, *scope
		a.claims.SigningKeys.AddScopedSigner(us)
	} else {
		a.claims.SigningKeys.Add(pub)
	}
	a.groups = append(a.groups, g)
	return g, s.signAccountLocked(a)
}

func (s *Server) signAccountLocked(a *account) error {
	token, err := a.claims.Encode(s.operator)
	if err != nil {
		return fmt.Errorf("signing the JWT of account %s: %w", a.name, err)
	}
	a.jwt = token
	return nil
}

// AccountJWT returns an account's current JWT.
func (s *Server) AccountJWT(accountID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.accounts[accountID]; ok {
		return a.jwt
	}
	return ""
}

// UserInfo is what a test may know about a user.
type UserInfo struct {
	ID, Name, PublicKey string
	// Issued counts the credentials downloaded for the user.
	Issued int
}

// Users returns an account's users in creation order.
func (s *Server) Users(accountID string) []UserInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []UserInfo
	for _, id := range s.order {
		if u := s.users[id]; u.accountID == accountID {
			pub, _ := u.key.PublicKey()
			out = append(out, UserInfo{ID: u.id, Name: u.name, PublicKey: pub, Issued: u.issuedTokens})
		}
	}
	return out
}

// RemoveUser deletes a user behind the client's back, as someone using the
// web console would.
func (s *Server) RemoveUser(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeUserLocked(id)
}

func (s *Server) removeUserLocked(id string) {
	delete(s.users, id)
	s.order = slices.DeleteFunc(s.order, func(o string) bool { return o == id })
}

// Calls returns how many requests each route received, faulted ones
// included.
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// TotalCalls is the number of requests received.
func (s *Server) TotalCalls() int {
	n := 0
	for _, v := range s.Calls() {
		n += v
	}
	return n
}

// Mutations is the number of requests received that change something, or
// mint credentials: every method but GET.
func (s *Server) Mutations() int {
	n := 0
	for route, v := range s.Calls() {
		if !strings.HasPrefix(route, "GET ") {
			n += v
		}
	}
	return n
}

// ResetCalls sets every count to zero.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.calls)
}

// statusError is what a handler returns to answer with an error status.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return e.msg }

func fail(code int, format string, args ...any) error {
	return &statusError{code: code, msg: fmt.Sprintf(format, args...)}
}

// endpoint wraps a handler with authentication, counting and faults.
func (s *Server) endpoint(route string, h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls[route]++
		f, faulted := s.nextFaultLocked(route)
		s.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+s.Token {
			w.WriteHeader(http.StatusUnauthorized) // the spec declares no body
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxRequestBodyBytes)
		if faulted && f.apply(w, r, func(w http.ResponseWriter) { s.serve(w, r, h) }) {
			return
		}
		s.serve(w, r, h)
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, h func(http.ResponseWriter, *http.Request) error) {
	if err := h(w, r); err != nil {
		var se *statusError
		if !errors.As(err, &se) {
			se = &statusError{code: http.StatusInternalServerError, msg: err.Error()}
		}
		// The spec declares no error schema; the real API answers text.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(se.code)
		fmt.Fprintln(w, se.msg)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	return json.NewEncoder(w).Encode(v)
}

// decodeJSON decodes a request body strictly.
func decodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fail(http.StatusBadRequest, "Content-Type must be application/json, not %q", ct)
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fail(http.StatusBadRequest, "invalid request body: %v", err)
	}
	return nil
}

func newID() string { return randomString(idLength) }

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = base62[int(b[i])%len(base62)]
	}
	return string(b)
}
