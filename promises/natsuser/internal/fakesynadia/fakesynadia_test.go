package fakesynadia

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/crdcheck"
)

// The spec the fake follows, from the pinned SDK module.
const (
	sdkModule = "github.com/synadia-io/control-plane-sdk-go"
	specFile  = "syncp/api/openapi.yaml"
)

var specOnce = sync.OnceValues(func() (map[string]any, error) {
	data, err := crdcheck.ModuleFile(sdkModule, specFile)
	if err != nil {
		return nil, err
	}
	var spec map[string]any
	return spec, yaml.Unmarshal(data, &spec)
})

type openAPI struct {
	t    *testing.T
	spec map[string]any
}

func loadSpec(t *testing.T) *openAPI {
	t.Helper()
	spec, err := specOnce()
	if err != nil {
		t.Fatalf("reading the OpenAPI spec: %v", err)
	}
	return &openAPI{t: t, spec: spec}
}

// operation returns the spec's operation for a route such as
// "GET /nats-users/{userId}".
func (o *openAPI) operation(route string) map[string]any {
	method, path, _ := strings.Cut(route, " ")
	paths := o.spec["paths"].(map[string]any)
	item, ok := paths["/core/beta"+path].(map[string]any)
	if !ok {
		o.t.Fatalf("%s: path not in the spec", route)
	}
	op, ok := item[strings.ToLower(method)].(map[string]any)
	if !ok {
		o.t.Fatalf("%s: method not in the spec", route)
	}
	return op
}

// schema resolves $ref and merges allOf into one object schema.
func (o *openAPI) schema(s map[string]any) map[string]any {
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		return o.schema(o.spec["components"].(map[string]any)["schemas"].(map[string]any)[name].(map[string]any))
	}
	all, ok := s["allOf"].([]any)
	if !ok {
		return s
	}
	merged := map[string]any{"type": "object", "properties": map[string]any{}}
	var required []any
	for _, part := range append(all, map[string]any{"properties": s["properties"], "required": s["required"]}) {
		p := o.schema(part.(map[string]any))
		if props, ok := p["properties"].(map[string]any); ok {
			for k, v := range props {
				merged["properties"].(map[string]any)[k] = v
			}
		}
		if req, ok := p["required"].([]any); ok {
			required = append(required, req...)
		}
	}
	merged["required"] = required
	return merged
}

// checkValue checks value against schema: required fields present, no
// field the schema does not know, enums respected, recursively.
func (o *openAPI) checkValue(where string, schema map[string]any, value any) {
	s := o.schema(schema)
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, value) {
		o.t.Errorf("%s: %v is not one of %v", where, value, enum)
	}
	switch v := value.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for _, r := range asList(s["required"]) {
			if _, ok := v[r.(string)]; !ok {
				o.t.Errorf("%s: required field %q missing", where, r)
			}
		}
		if props == nil {
			return // a free-form object
		}
		for k, fv := range v {
			ps, ok := props[k].(map[string]any)
			if !ok {
				o.t.Errorf("%s: field %q is not in the spec", where, k)
				continue
			}
			o.checkValue(where+"."+k, ps, fv)
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, item := range v {
				o.checkValue(fmt.Sprintf("%s[%d]", where, i), items, item)
			}
		}
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// checkAnswer checks an answer's status and body against the route's
// declared responses.
func (o *openAPI) checkAnswer(route string, code int, contentType string, body []byte) {
	responses := o.operation(route)["responses"].(map[string]any)
	resp, ok := responses[strconv.Itoa(code)].(map[string]any)
	if !ok {
		o.t.Errorf("%s answered %d, which the spec does not declare (%v)", route, code, keysOf(responses))
		return
	}
	content, _ := resp["content"].(map[string]any)
	if content == nil {
		if len(body) > 0 && code < 400 {
			o.t.Errorf("%s %d: body where the spec declares none", route, code)
		}
		return
	}
	mediaType, _, _ := strings.Cut(contentType, ";")
	media, ok := content[mediaType].(map[string]any)
	if !ok {
		o.t.Errorf("%s %d: content type %q, spec declares %v", route, code, contentType, keysOf(content))
		return
	}
	if mediaType != "application/json" {
		return
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		o.t.Errorf("%s %d: %v", route, code, err)
		return
	}
	o.checkValue(route, media["schema"].(map[string]any), v)
}

// checkRequestType checks that every JSON field a wire type can send is a
// property of the named request schema.
func (o *openAPI) checkRequestType(schemaName string, typ reflect.Type) {
	s := o.schema(map[string]any{"$ref": "#/components/schemas/" + schemaName})
	props := s["properties"].(map[string]any)
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		if _, ok := props[name]; !ok {
			o.t.Errorf("%s has no field %q", schemaName, name)
		}
	}
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// client sends raw requests, so that the test sees exactly what the fake
// answers.
type client struct {
	t     *testing.T
	s     *Server
	token string
	api   *openAPI
}

func (c *client) do(route string, params map[string]string, body any) (int, []byte) {
	c.t.Helper()
	method, path, _ := strings.Cut(route, " ")
	for k, v := range params {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	var rd io.Reader
	if body != nil {
		js, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, c.s.URL+apiPrefix+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	c.api.checkAnswer(route, resp.StatusCode, resp.Header.Get("Content-Type"), data)
	return resp.StatusCode, data
}

// TestConformance drives every route the fake serves and checks each
// answer, errors included, against the official spec.
func TestConformance(t *testing.T) {
	api := loadSpec(t)
	api.checkRequestType("NatsUserCreateRequest", reflect.TypeOf(createRequest{}))
	api.checkRequestType("NatsCreateUserJwtSettings", reflect.TypeOf(jwtSettings{}))
	api.checkRequestType("NatsUserRevocationRequest", reflect.TypeOf(revocationRequest{}))
	api.checkRequestType("NatsUserUpdateRequest", reflect.TypeOf(updateRequest{}))

	var revoked []string
	s, err := Start(Options{OnAccountUpdate: func(_, accountJWT string) { revoked = append(revoked, accountJWT) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	acct, err := s.AddAccount("orders")
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, s: s, token: s.Token, api: api}
	a := map[string]string{"accountId": acct.ID}

	code, _ := c.do(RouteVersion, nil, nil)
	expect(t, "version", code, 200)
	code, _ = c.do(RouteListGroups, a, nil)
	expect(t, "list groups", code, 200)
	code, body := c.do(RouteCreateUser, a, map[string]any{
		"name": "app", "sk_group_id": acct.SigningKeyGroupID, "jwt_expires_in_secs": 3600,
		"jwt_settings": map[string]any{"pub": map[string]any{"allow": []string{"app.>"}}, "resp": map[string]any{"max": 1, "ttl": int64(time.Minute)}},
	})
	expect(t, "create", code, 201)
	var user struct {
		ID            string `json:"id"`
		UserPublicKey string `json:"user_public_key"`
	}
	if err := json.Unmarshal(body, &user); err != nil {
		t.Fatal(err)
	}
	u := map[string]string{"userId": user.ID}
	code, _ = c.do(RouteListUsers, a, nil)
	expect(t, "list users", code, 200)
	code, _ = c.do(RouteGetUser, u, nil)
	expect(t, "get", code, 200)
	code, _ = c.do(RouteUpdateUser, u, map[string]any{"jwt_settings": map[string]any{"pub": nil, "subs": 5}})
	expect(t, "patch", code, 200)
	code, creds := c.do(RouteDownloadCreds, u, nil)
	expect(t, "creds", code, 200)
	checkCreds(t, creds, acct, user.UserPublicKey)

	rev := map[string]string{"accountId": acct.ID, "userNkeyPublic": user.UserPublicKey}
	code, _ = c.do(RouteGetRevocation, rev, nil)
	expect(t, "revocation before any", code, 404)
	code, _ = c.do(RouteRevokeUser, rev, map[string]any{"before": 0})
	expect(t, "revoke", code, 201)
	code, _ = c.do(RouteRevokeUser, rev, map[string]any{"before": 0})
	expect(t, "revoke again", code, 200)
	code, _ = c.do(RouteGetRevocation, rev, nil)
	expect(t, "revocation", code, 200)
	if len(revoked) != 2 {
		t.Errorf("%d account updates, want 2", len(revoked))
	} else if ac, err := jwt.DecodeAccountClaims(revoked[1]); err != nil || !ac.IsClaimRevoked(&jwt.UserClaims{ClaimsData: jwt.ClaimsData{Subject: user.UserPublicKey, IssuedAt: time.Now().Unix() - 1}}) {
		t.Errorf("account JWT does not revoke the user: %v", err)
	}
	code, _ = c.do(RouteDeleteUser, u, nil)
	expect(t, "delete", code, 204)

	// Errors the spec declares.
	code, _ = c.do(RouteDeleteUser, u, nil)
	expect(t, "delete again", code, 404)
	code, _ = c.do(RouteGetUser, u, nil)
	expect(t, "get deleted", code, 404)
	code, _ = c.do(RouteCreateUser, a, map[string]any{"name": "x"})
	expect(t, "create without group", code, 400)
	code, _ = c.do(RouteCreateUser, a, map[string]any{"name": "x", "sk_group_id": acct.SigningKeyGroupID, "nmae": "typo"})
	expect(t, "create with unknown field", code, 400)
	code, _ = c.do(RouteCreateUser, map[string]string{"accountId": "nope"}, map[string]any{"name": "x", "sk_group_id": "g"})
	expect(t, "create in unknown account", code, 404)
	code, _ = c.do(RouteRevokeUser, rev, map[string]any{})
	expect(t, "revoke without before", code, 400)
	c.token = "uat_wrong"
	for _, route := range []string{RouteListUsers, RouteGetUser, RouteDownloadCreds} {
		code, _ = c.do(route, map[string]string{"accountId": acct.ID, "userId": user.ID}, nil)
		expect(t, route+" with a wrong token", code, 401)
	}
}

func expect(t *testing.T, what string, got, want int) {
	t.Helper()
	if got != want {
		t.Errorf("%s: status %d, want %d", what, got, want)
	}
}

// checkCreds: the credentials are a real user JWT, signed by the account's
// signing key for the account, with the seed of the user's key.
func checkCreds(t *testing.T, creds []byte, acct Account, userPub string) {
	t.Helper()
	token, err := jwt.ParseDecoratedJWT(creds)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := jwt.DecodeUserClaims(token)
	if err != nil {
		t.Fatal(err)
	}
	ac, err := jwt.DecodeAccountClaims(acct.JWT)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := jwt.ParseDecoratedUserNKey(creds)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	switch {
	case claims.Subject != userPub || pub != userPub:
		t.Errorf("credentials for %s with the seed of %s, want %s", claims.Subject, pub, userPub)
	case claims.IssuerAccount != acct.PublicKey || !ac.SigningKeys.Contains(claims.Issuer):
		t.Errorf("issued by %s for %s, not a signing key of %s", claims.Issuer, claims.IssuerAccount, acct.PublicKey)
	case claims.Subs != 5 || claims.Pub.Allow.Contains("app.>"):
		t.Errorf("the PATCH did not reach the JWT: %+v", claims.UserPermissionLimits)
	case claims.Resp == nil || claims.Resp.Expires != time.Minute:
		t.Errorf("response permission %+v", claims.Resp)
	case claims.Expires-claims.IssuedAt < 3590 || claims.Expires-claims.IssuedAt > 3610:
		t.Errorf("lifetime %ds, want 3600", claims.Expires-claims.IssuedAt)
	}
}

// TestFaults checks each kind of fault as a client sees it.
func TestFaults(t *testing.T) {
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	acct, err := s.AddAccount("orders")
	if err != nil {
		t.Fatal(err)
	}
	create := func() (*http.Response, error) {
		body := fmt.Sprintf(`{"name":"app","sk_group_id":%q}`, acct.SigningKeyGroupID)
		req, _ := http.NewRequest("POST", s.URL+apiPrefix+"/accounts/"+acct.ID+"/nats-users", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+s.Token)
		req.Header.Set("Content-Type", "application/json")
		return (&http.Client{Timeout: 500 * time.Millisecond}).Do(req)
	}
	tests := []struct {
		name      string
		fault     Fault
		wantCode  int // 0: no answer
		wantUsers int
	}{
		{"status", Fault{Status: 503, RetryAfter: "3"}, 503, 0},
		{"status after commit", Fault{Status: 500, Commit: true}, 500, 1},
		{"drop", Fault{Drop: true}, 0, 0},
		{"drop after commit", Fault{Drop: true, Commit: true}, 0, 1},
		{"held answer", Fault{HoldAnswer: time.Second}, 0, 1},
		{"delay alone", Fault{Delay: 10 * time.Millisecond}, 201, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, u := range s.Users(acct.ID) {
				s.RemoveUser(u.ID)
			}
			s.ResetCalls()
			s.Inject(RouteCreateUser, 1, tt.fault)
			resp, err := create()
			code := 0
			if err == nil {
				code = resp.StatusCode
				if tt.fault.RetryAfter != "" && resp.Header.Get("Retry-After") != tt.fault.RetryAfter {
					t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
				}
				resp.Body.Close()
			}
			if code != tt.wantCode {
				t.Errorf("answer %d (%v), want %d", code, err, tt.wantCode)
			}
			if n := len(s.Users(acct.ID)); n != tt.wantUsers {
				t.Errorf("%d users, want %d", n, tt.wantUsers)
			}
			if s.Calls()[RouteCreateUser] != 1 || s.Mutations() != 1 {
				t.Errorf("calls %v", s.Calls())
			}
		})
	}
}
