package fakesynadia

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"
)

// Wire types, written from the spec's schemas (not from syncp's models, so
// that a client mistake the models share would show).

// jwtSettings is NatsCreateUserJwtSettings and NatsUserJwtSettings: the
// allOf of Permissions, UserLimits and their own properties. Its JSON is
// also the "nats" part of a user JWT, which is how the fake signs it.
type jwtSettings struct {
	Pub                    *permission         `json:"pub,omitempty"`
	Sub                    *permission         `json:"sub,omitempty"`
	Resp                   *responsePermission `json:"resp,omitempty"`
	Src                    []string            `json:"src,omitempty"`
	Times                  []timeRange         `json:"times,omitempty"`
	TimesLocation          string              `json:"times_location,omitempty"`
	AllowedConnectionTypes []string            `json:"allowed_connection_types,omitempty"`
	BearerToken            *bool               `json:"bearer_token,omitempty"`
	Subs                   *int64              `json:"subs,omitempty"`
	Data                   *int64              `json:"data,omitempty"`
	Payload                *int64              `json:"payload,omitempty"`
	Tags                   []string            `json:"tags,omitempty"`
}

type permission struct {
	Allow []string `json:"allow,omitempty"`
	Deny  []string `json:"deny,omitempty"`
}

// responsePermission's ttl is in nanoseconds (a Go time.Duration).
type responsePermission struct {
	Max int64 `json:"max"`
	TTL int64 `json:"ttl"`
}

type timeRange struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// NatsUserCreateRequest
type createRequest struct {
	Name             string       `json:"name"`
	SkGroupID        string       `json:"sk_group_id"`
	JwtExpiresInSecs *int64       `json:"jwt_expires_in_secs,omitempty"`
	JwtSettings      *jwtSettings `json:"jwt_settings,omitempty"`
}

// NatsUserUpdateRequest; its jwt_settings (NatsUserJwtSettingsPatch) stay
// raw: an absent field keeps the value, null clears it.
type updateRequest struct {
	Name             *string                    `json:"name,omitempty"`
	JwtExpiresInSecs *int64                     `json:"jwt_expires_in_secs,omitempty"`
	JwtSettings      map[string]json.RawMessage `json:"jwt_settings,omitempty"`
}

// NatsUserRevocationRequest
type revocationRequest struct {
	Before *int64 `json:"before"`
}

// NatsUserViewResponse, every required field present.
type userView struct {
	Account          accountInfo     `json:"account"`
	Claims           json.RawMessage `json:"claims"`
	Created          time.Time       `json:"created"`
	ID               string          `json:"id"`
	JWT              string          `json:"jwt"`
	JwtExpiresAtMax  int64           `json:"jwt_expires_at_max"`
	JwtExpiresInSecs int64           `json:"jwt_expires_in_secs"`
	JwtSettings      jwtSettings     `json:"jwt_settings"`
	Name             string          `json:"name"`
	SkGroupID        string          `json:"sk_group_id"`
	System           systemInfo      `json:"system"`
	Team             teamInfo        `json:"team"`
	UserPublicKey    string          `json:"user_public_key"`
}

type accountInfo struct {
	AccountPublicKey     string `json:"account_public_key"`
	AuthType             string `json:"auth_type"`
	ID                   string `json:"id"`
	IsPlatformAccount    bool   `json:"is_platform_account"`
	IsScpAccount         bool   `json:"is_scp_account"`
	IsSystemAccount      bool   `json:"is_system_account"`
	Name                 string `json:"name"`
	UserJwtExpiresInSecs int64  `json:"user_jwt_expires_in_secs"`
}

type systemInfo struct {
	ConfigMode           bool   `json:"config_mode"`
	ConnectionType       string `json:"connection_type"`
	ID                   string `json:"id"`
	IsTenant             bool   `json:"is_tenant"`
	JetstreamEnabled     bool   `json:"jetstream_enabled"`
	Name                 string `json:"name"`
	State                string `json:"state"`
	UserJwtExpiresInSecs int64  `json:"user_jwt_expires_in_secs"`
}

type teamInfo struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type listResponse[T any] struct {
	Items []T `json:"items"`
}

// SigningKeyGroupViewResponse
type groupView struct {
	Created      time.Time                 `json:"created"`
	Disabled     bool                      `json:"disabled"`
	ID           string                    `json:"id"`
	IsScoped     bool                      `json:"is_scoped"`
	MissingSeed  bool                      `json:"missing_seed"`
	Name         string                    `json:"name"`
	Programmatic bool                      `json:"programmatic"`
	Scope        *jwt.UserPermissionLimits `json:"scope,omitempty"`
}

// NatsUserRevocationViewResponse
type revocationView struct {
	AccountID      string    `json:"account_id"`
	Before         int64     `json:"before"`
	Created        time.Time `json:"created"`
	UserNkeyPublic string    `json:"user_nkey_public"`
}

var (
	fakeSystem = systemInfo{ConnectionType: "Agent", ID: "2fakesystem0000000000000000", JetstreamEnabled: true, Name: "fake", State: "Connected"}
	fakeTeam   = teamInfo{ID: "2faketeam000000000000000000", Name: "fake"}
)

func (s *Server) version(w http.ResponseWriter, _ *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"commit": "fake", "date": "2026-07-01", "version": "fakesynadia"})
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.accountLocked(r.PathValue("accountId"))
	if err != nil {
		return err
	}
	out := listResponse[groupView]{Items: []groupView{}}
	for _, g := range a.groups {
		v := groupView{Created: g.created, ID: g.id, IsScoped: g.scoped, Name: g.name}
		if g.scoped {
			scope := g.scope
			v.Scope = &scope
		}
		out.Items = append(out.Items, v)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.accountLocked(r.PathValue("accountId"))
	if err != nil {
		return err
	}
	out := listResponse[userView]{Items: []userView{}}
	for _, id := range s.order {
		if u := s.users[id]; u.accountID == a.id {
			out.Items = append(out.Items, s.viewLocked(u))
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	var req createRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.accountLocked(r.PathValue("accountId"))
	if err != nil {
		return err
	}
	if req.Name == "" || req.SkGroupID == "" {
		return fail(http.StatusBadRequest, "name and sk_group_id are required")
	}
	g := a.group(req.SkGroupID)
	if g == nil {
		return fail(http.StatusNotFound, "signing key group %s not found", req.SkGroupID)
	}
	settings := jwtSettings{}
	if req.JwtSettings != nil {
		if g.scoped {
			return fail(http.StatusBadRequest, "signing key group %s is scoped: jwt_settings are not allowed", g.name)
		}
		settings = *req.JwtSettings
	}
	defaultLimit(&settings.Subs)
	defaultLimit(&settings.Data)
	defaultLimit(&settings.Payload)
	if err := settings.validate(); err != nil {
		return err
	}
	key, err := nkeys.CreateUser()
	if err != nil {
		return err
	}
	u := &user{id: newID(), name: req.Name, accountID: a.id, groupID: g.id, key: key, settings: settings, created: s.opts.Clock().UTC()}
	if req.JwtExpiresInSecs != nil {
		if *req.JwtExpiresInSecs < 0 {
			return fail(http.StatusBadRequest, "jwt_expires_in_secs must not be negative")
		}
		u.expiresIn = *req.JwtExpiresInSecs
	}
	if err := s.resignLocked(u); err != nil {
		return err
	}
	s.users[u.id] = u
	s.order = append(s.order, u.id)
	return writeJSON(w, http.StatusCreated, s.viewLocked(u))
}

func defaultLimit(p **int64) {
	if *p == nil {
		v := int64(jwt.NoLimit)
		*p = &v
	}
}

func (st jwtSettings) validate() error {
	for name, v := range map[string]*int64{"subs": st.Subs, "data": st.Data, "payload": st.Payload} {
		if v != nil && *v < -1 {
			return fail(http.StatusBadRequest, "jwt_settings.%s must be -1 or more", name)
		}
	}
	return nil
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(r.PathValue("userId"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.viewLocked(u))
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) error {
	var req updateRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(r.PathValue("userId"))
	if err != nil {
		return err
	}
	next := *u
	if req.Name != nil {
		next.name = *req.Name
	}
	if req.JwtExpiresInSecs != nil {
		next.expiresIn = *req.JwtExpiresInSecs
	}
	if err := next.settings.patch(req.JwtSettings); err != nil {
		return err
	}
	if len(req.JwtSettings) > 0 && s.accounts[u.accountID].group(u.groupID).scoped {
		return fail(http.StatusBadRequest, "the user's signing key group is scoped: jwt_settings are not allowed")
	}
	if err := next.settings.validate(); err != nil {
		return err
	}
	if err := s.resignLocked(&next); err != nil {
		return err
	}
	*u = next
	return writeJSON(w, http.StatusOK, s.viewLocked(u))
}

// patch applies NatsUserJwtSettingsPatch: absent fields keep their value,
// null clears a nullable one, anything else is merged in as a JSON merge
// patch (RFC 7396) would: a list or a number replaces the old one, but an
// object such as pub or sub is merged, so a list it leaves out (allow,
// deny) keeps its old value. The spec does not say; this is the harder
// case for a client, which must send [] to clear such a list.
func (st *jwtSettings) patch(fields map[string]json.RawMessage) error {
	// Decoding each field into the settings' own field replaces lists and
	// numbers and merges into structs.
	targets := map[string]any{
		"pub": &st.Pub, "sub": &st.Sub, "resp": &st.Resp, "src": &st.Src, "times": &st.Times,
		"times_location": &st.TimesLocation, "allowed_connection_types": &st.AllowedConnectionTypes,
		"bearer_token": &st.BearerToken, "subs": &st.Subs, "data": &st.Data, "payload": &st.Payload, "tags": &st.Tags,
	}
	notNullable := map[string]bool{"bearer_token": true, "subs": true, "data": true, "payload": true}
	for name, raw := range fields {
		target, ok := targets[name]
		if !ok {
			return fail(http.StatusBadRequest, "jwt_settings: unknown field %q", name)
		}
		if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			if notNullable[name] {
				return fail(http.StatusBadRequest, "jwt_settings.%s cannot be null", name)
			}
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(target); err != nil {
			return fail(http.StatusBadRequest, "jwt_settings.%s: %v", name, err)
		}
	}
	return nil
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(r.PathValue("userId"))
	if err != nil {
		return err
	}
	s.removeUserLocked(u.id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) downloadCreds(w http.ResponseWriter, r *http.Request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(r.PathValue("userId"))
	if err != nil {
		return err
	}
	token, exp, err := s.signLocked(u)
	if err != nil {
		return err
	}
	seed, err := u.key.Seed()
	if err != nil {
		return err
	}
	creds, err := jwt.FormatUserConfig(token, seed) // seed is the key's own: keep it
	if err != nil {
		return err
	}
	u.issuedTokens++
	u.lastExpiry = exp
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(creds)
	return err
}

func (s *Server) revokeUser(w http.ResponseWriter, r *http.Request) error {
	var req revocationRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Before == nil {
		return fail(http.StatusBadRequest, "before is required")
	}
	pub := r.PathValue("userNkeyPublic")
	if !nkeys.IsValidPublicUserKey(pub) {
		return fail(http.StatusBadRequest, "%q is not a user public key", pub)
	}
	s.mu.Lock()
	a, err := s.accountLocked(r.PathValue("accountId"))
	if err != nil {
		s.mu.Unlock()
		return err
	}
	// "If 'before' is set to 0, the current timestamp will be used": the
	// wall clock, the clock a JWT's iat comes from.
	before := time.Unix(*req.Before, 0)
	if *req.Before == 0 {
		before = time.Now()
	}
	_, existed := a.claims.Revocations[pub]
	a.claims.RevokeAt(pub, before)
	if err := s.signAccountLocked(a); err != nil {
		s.mu.Unlock()
		return err
	}
	accountJWT := a.jwt
	view := revocationView{AccountID: a.id, Before: a.claims.Revocations[pub], Created: time.Now().UTC(), UserNkeyPublic: pub}
	s.mu.Unlock()
	s.accountUpdated(a, accountJWT)
	code := http.StatusCreated
	if existed {
		code = http.StatusOK
	}
	return writeJSON(w, code, view)
}

func (s *Server) getRevocation(w http.ResponseWriter, r *http.Request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.accountLocked(r.PathValue("accountId"))
	if err != nil {
		return err
	}
	pub := r.PathValue("userNkeyPublic")
	before, ok := a.claims.Revocations[pub]
	if !ok {
		return fail(http.StatusNotFound, "no revocation for %s", pub)
	}
	return writeJSON(w, http.StatusOK, revocationView{AccountID: a.id, Before: before, Created: time.Unix(before, 0).UTC(), UserNkeyPublic: pub})
}

func (s *Server) accountLocked(id string) (*account, error) {
	a, ok := s.accounts[id]
	if !ok {
		return nil, fail(http.StatusNotFound, "account %s not found", id)
	}
	return a, nil
}

func (s *Server) userLocked(id string) (*user, error) {
	u, ok := s.users[id]
	if !ok {
		return nil, fail(http.StatusNotFound, "NATS user %s not found", id)
	}
	return u, nil
}

func (a *account) group(id string) *group {
	for _, g := range a.groups {
		if g.id == id {
			return g
		}
	}
	return nil
}

// signLocked signs a user JWT with the user's signing key group, carrying
// its settings (or, for a scoped group, nothing: the scope applies), and
// returns it with its expiry (0: none).
func (s *Server) signLocked(u *user) (string, int64, error) {
	a := s.accounts[u.accountID]
	g := a.group(u.groupID)
	pub, _ := u.key.PublicKey()
	claims := jwt.NewUserClaims(pub)
	claims.Name = u.name
	claims.IssuerAccount, _ = a.key.PublicKey()
	if g.scoped {
		claims.SetScoped(true)
	} else {
		// The settings' JSON is the JWT's user part, field for field.
		js, err := json.Marshal(u.settings)
		if err != nil {
			return "", 0, err
		}
		if err := json.Unmarshal(js, &claims.UserPermissionLimits); err != nil {
			return "", 0, err
		}
	}
	if u.expiresIn > 0 {
		claims.Expires = s.opts.Clock().Add(time.Duration(u.expiresIn) * time.Second).Unix()
	}
	token, err := claims.Encode(g.key)
	if err != nil {
		return "", 0, err
	}
	return token, claims.Expires, nil
}

// resignLocked signs the JWT the user's view shows (the real API shows
// one, without the seed) after its settings changed.
func (s *Server) resignLocked(u *user) error {
	token, _, err := s.signLocked(u)
	if err != nil {
		return err
	}
	claims, err := jwt.DecodeUserClaims(token)
	if err != nil {
		return err
	}
	if u.claimsJSON, err = json.Marshal(claims); err != nil {
		return err
	}
	u.viewJWT = token
	return nil
}

// view renders NatsUserViewResponse.
func (s *Server) viewLocked(u *user) userView {
	a := s.accounts[u.accountID]
	accountPub, _ := a.key.PublicKey()
	pub, _ := u.key.PublicKey()
	return userView{
		Account: accountInfo{
			AccountPublicKey: accountPub, AuthType: "jwt", ID: a.id, Name: a.name,
		},
		Claims:           u.claimsJSON,
		Created:          u.created,
		ID:               u.id,
		JWT:              u.viewJWT,
		JwtExpiresAtMax:  u.lastExpiry,
		JwtExpiresInSecs: u.expiresIn,
		JwtSettings:      u.settings,
		Name:             u.name,
		SkGroupID:        u.groupID,
		System:           fakeSystem,
		Team:             fakeTeam,
		UserPublicKey:    pub,
	}
}
