package selfhosted

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"

	"github.com/promisekit/promisekit/internal/leakcheck"
	"github.com/promisekit/promisekit/promises/natsuser/backend"
)

func seedOf(t *testing.T, kp nkeys.KeyPair) []byte {
	t.Helper()
	seed, err := kp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	return seed
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	account, _ := nkeys.CreateAccount()
	accountPub, _ := account.PublicKey()
	signer, _ := nkeys.CreateAccount()
	user, _ := nkeys.CreateUser()
	userPub, _ := user.PublicKey()
	decorated, err := jwt.DecorateSeed(seedOf(t, signer))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		account string
		file    string
		issuer  string // the JWTs' issuer_account
		wantErr string
	}{
		{"signing key", accountPub, write("signer", seedOf(t, signer)), accountPub, ""},
		{"decorated signing key", accountPub, write("decorated", decorated), accountPub, ""},
		{"identity key signs for itself", "", write("identity", seedOf(t, account)), "", ""},
		{"identity key named as its account", accountPub, write("identity2", seedOf(t, account)), "", ""},
		{"user seed", accountPub, write("user", seedOf(t, user)), "", "not an account key"},
		{"not a seed", accountPub, write("junk", []byte("hello")), "", "no account nkey seed found"},
		{"missing", accountPub, filepath.Join(dir, "missing"), "", "reading NATS account signing key"},
		{"user public key as account", userPub, write("signer2", seedOf(t, signer)), "", "is not an account public key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(tt.account, tt.file)
			var issuer string
			if err == nil {
				var key nkeys.KeyPair
				if key, issuer, err = s.signingKey(); err == nil {
					key.Wipe()
				}
			}
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				new(leakcheck.Scanner).Check(t, "error", []byte(err.Error()))
			case err != nil:
				t.Fatal(err)
			case issuer != tt.issuer:
				t.Errorf("issuer account %q, want %q", issuer, tt.issuer)
			}
		})
	}
}

func TestIssueCredentials(t *testing.T) {
	account, _ := nkeys.CreateAccount()
	accountPub, _ := account.PublicKey()
	signer, _ := nkeys.CreateAccount()
	signerPub, _ := signer.PublicKey()
	file := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(file, seedOf(t, signer), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(accountPub, file)
	if err != nil {
		t.Fatal(err)
	}
	settings := backend.Settings{
		Publish:   backend.Permission{Allow: []string{"orders.>"}, Deny: []string{"orders.secret"}},
		Subscribe: backend.Permission{Allow: []string{"_INBOX.>"}},
		Responses: &backend.Responses{MaxMessages: 2, TTL: time.Minute},
		Limits:    backend.Limits{Subscriptions: 5, Data: backend.NoLimit, Payload: 1024},
		Lifetime:  2 * time.Hour,
	}
	now := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	ctx := context.Background()
	u, err := s.CreateUser(ctx, "kratix.team.app", settings)
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.IssueCredentials(ctx, u, settings, now)
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.IssueCredentials(ctx, u, settings, now)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := backend.InspectCredentials(first)
	b, _ := backend.InspectCredentials(second)
	if a.UserPublicKey == b.UserPublicKey {
		t.Error("two issues share a key")
	}
	token, err := jwt.ParseDecoratedJWT(first)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := jwt.DecodeUserClaims(token)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case claims.Issuer != signerPub || claims.IssuerAccount != accountPub:
		t.Errorf("issuer %s for account %s", claims.Issuer, claims.IssuerAccount)
	case claims.Name != "kratix.team.app":
		t.Errorf("name %q", claims.Name)
	case claims.Expires != now.Add(2*time.Hour).Unix():
		t.Errorf("expires %d", claims.Expires)
	case !claims.Pub.Allow.Contains("orders.>") || !claims.Pub.Deny.Contains("orders.secret") || !claims.Sub.Allow.Contains("_INBOX.>"):
		t.Errorf("permissions %+v", claims.Permissions)
	case claims.Resp == nil || claims.Resp.MaxMsgs != 2 || claims.Resp.Expires != time.Minute:
		t.Errorf("responses %+v", claims.Resp)
	case claims.Subs != 5 || claims.Data != jwt.NoLimit || claims.Limits.NatsLimits.Payload != 1024:
		t.Errorf("limits %+v", claims.NatsLimits)
	}
	if _, err := s.IssueCredentials(ctx, u, backend.Settings{}, now); err == nil {
		t.Error("issued credentials that never expire")
	}
	d, err := s.DeleteUser(ctx, &backend.User{PublicKey: a.UserPublicKey})
	if err != nil || d.Revoked || !d.Existed {
		t.Errorf("DeleteUser: %+v, %v", d, err)
	}
}
