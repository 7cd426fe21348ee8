package backend

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"

	"github.com/promisekit/promisekit/internal/leakcheck"
)

func TestSettingsHash(t *testing.T) {
	base := Settings{
		Publish:  Permission{Allow: []string{"b", "a"}},
		Limits:   Limits{Subscriptions: NoLimit, Data: NoLimit, Payload: NoLimit},
		Lifetime: time.Hour,
	}
	tests := []struct {
		name  string
		other func(Settings) Settings
		equal bool
	}{
		{"same", func(s Settings) Settings { return s }, true},
		{"order and duplicates do not matter", func(s Settings) Settings {
			s.Publish.Allow = []string{"a", "b", "a"}
			return s
		}, true},
		{"empty list is no list", func(s Settings) Settings {
			s.Subscribe.Deny = []string{}
			return s
		}, true},
		{"allow becomes deny", func(s Settings) Settings {
			s.Publish = Permission{Deny: []string{"a", "b"}}
			return s
		}, false},
		{"lifetime", func(s Settings) Settings { s.Lifetime = 2 * time.Hour; return s }, false},
		{"limit", func(s Settings) Settings { s.Limits.Payload = 1; return s }, false},
		{"responses", func(s Settings) Settings { s.Responses = &Responses{MaxMessages: 1}; return s }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := base.Equal(tt.other(base)); got != tt.equal {
				t.Errorf("Equal = %v, want %v", got, tt.equal)
			}
		})
	}
	if base.Publish.Allow[0] != "b" {
		t.Error("Canonical changed its receiver's list")
	}
	if !strings.HasPrefix(base.Hash(), "sha256:") || len(base.Hash()) != 71 {
		t.Errorf("hash %q", base.Hash())
	}
}

func TestRestricted(t *testing.T) {
	open := Settings{Limits: Limits{NoLimit, NoLimit, NoLimit}, Lifetime: time.Hour}
	if open.Restricted() {
		t.Error("unrestricted settings reported restricted")
	}
	for name, s := range map[string]Settings{
		"publish":   {Publish: Permission{Deny: []string{">"}}, Limits: open.Limits},
		"responses": {Responses: &Responses{MaxMessages: 1}, Limits: open.Limits},
		"limit":     {Limits: Limits{1, NoLimit, NoLimit}},
	} {
		if !s.Restricted() {
			t.Errorf("%s: not reported restricted", name)
		}
	}
}

// credentials signs a user JWT and formats a credentials file; seedOf,
// when set, supplies the seed written instead of the user's own.
func credentials(t *testing.T, expires time.Time, seedOf nkeys.KeyPair) []byte {
	t.Helper()
	account, _ := nkeys.CreateAccount()
	user, _ := nkeys.CreateUser()
	pub, _ := user.PublicKey()
	c := jwt.NewUserClaims(pub)
	if !expires.IsZero() {
		c.Expires = expires.Unix()
	}
	token, err := c.Encode(account)
	if err != nil {
		t.Fatal(err)
	}
	if seedOf == nil {
		seedOf = user
	}
	seed, _ := seedOf.Seed()
	decoratedJWT, err := jwt.DecorateJWT(token)
	if err != nil {
		t.Fatal(err)
	}
	decoratedSeed, err := jwt.DecorateSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return append(decoratedJWT, decoratedSeed...)
}

func TestInspectCredentials(t *testing.T) {
	expires := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	other, _ := nkeys.CreateUser()
	good := credentials(t, expires, nil)
	tests := []struct {
		name    string
		creds   []byte
		wantErr string
	}{
		{"valid", good, ""},
		{"never expires", credentials(t, time.Time{}, nil), ""},
		{"seed of another user", credentials(t, expires, other), "does not belong to the JWT's user"},
		{"JWT alone", good[:strings.Index(string(good), "************************* IMPORTANT")], "no user nkey seed"},
		{"garbage", []byte("not a credentials file"), "does not decode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := InspectCredentials(tt.creds)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatal(err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			case err != nil && len(new(leakcheck.Scanner).Bytes("error", []byte(err.Error()))) > 0:
				t.Fatalf("error quotes a secret: %v", err)
			case err == nil && tt.name == "valid" && !info.ExpiresAt.Equal(expires):
				t.Errorf("expiry %s, want %s", info.ExpiresAt, expires)
			}
		})
	}
}
