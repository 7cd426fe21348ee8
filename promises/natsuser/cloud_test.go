package natsuser

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"

	"github.com/promisekit/promisekit/internal/leakcheck"
	"github.com/promisekit/promisekit/promises/natsuser/internal/fakesynadia"
)

// checkCalls compares the fake's counts since the last reset with want;
// routes not in want must not have been called.
func checkCalls(t *testing.T, fake *fakesynadia.Server, want map[string]int) {
	t.Helper()
	got := fake.Calls()
	for route, n := range got {
		if n != want[route] {
			t.Errorf("%s: %d calls, want %d", route, n, want[route])
		}
	}
	for route, n := range want {
		if got[route] != n {
			t.Errorf("%s: %d calls, want %d", route, got[route], n)
		}
	}
	fake.ResetCalls()
}

func TestCloud(t *testing.T) {
	e := newCloud(t)
	h := e.harness(t, "orders-api", ordersSpec)

	first := configure(t, h)
	checkCalls(t, e.fake, map[string]int{
		fakesynadia.RouteListUsers:     1, // adoption check: none of that name yet
		fakesynadia.RouteListGroups:    1,
		fakesynadia.RouteCreateUser:    1,
		fakesynadia.RouteDownloadCreds: 1,
	})
	creds := credsOf(t, first, testKeys(t))
	checkCredentials(t, e.nats, creds, "orders.events.created", "payments.charge")
	users := e.users("orders-api")
	if len(users) != 1 || users[0].Issued != 1 {
		t.Fatalf("users %+v, want one with one issue", users)
	}
	st := storedState(t, h)
	if st.UserID != users[0].ID || st.UserPublicKey != users[0].PublicKey {
		t.Fatalf("state %+v does not name the user %+v", st, users[0])
	}
	if got := h.Status()[statusNATSURL]; got != "tls://connect.ngs.global" {
		t.Errorf("status.natsURL = %v", got)
	}

	t.Run("20 re-runs change nothing and call nothing that mutates", func(t *testing.T) {
		rerunUnchanged(t, h, first.Files, 20)
		checkCalls(t, e.fake, map[string]int{fakesynadia.RouteGetUser: 20})
	})

	t.Run("renewal", func(t *testing.T) {
		e.setNow(h, st.CredentialsExpireAt.Add(-DefaultRenewBefore))
		out := configure(t, h)
		checkCalls(t, e.fake, map[string]int{fakesynadia.RouteGetUser: 1, fakesynadia.RouteDownloadCreds: 1})
		if sameBytes(out.Files, first.Files) {
			t.Fatal("renewal kept the old ciphertext")
		}
		renewed := credsOf(t, out, testKeys(t))
		checkCredentials(t, e.nats, renewed, "orders.events.created", "payments.charge")
		checkCredentials(t, e.nats, creds, "orders.events.created", "payments.charge") // still valid until it expires
		next := storedState(t, h)
		if !next.CredentialsExpireAt.Equal(e.clock.now().Add(DefaultLifetime)) || next.UserPublicKey != st.UserPublicKey {
			t.Fatalf("renewed state %+v", next)
		}
		rerunUnchanged(t, h, out.Files, 3)
		checkCalls(t, e.fake, map[string]int{fakesynadia.RouteGetUser: 3})
		creds = renewed
	})

	t.Run("settings change", func(t *testing.T) {
		setSpec(t, h, `
publish:
  allow: ["orders.audit.>"]
subscribe:
  allow: ["orders.>"]
`)
		out := configure(t, h)
		checkCalls(t, e.fake, map[string]int{
			fakesynadia.RouteGetUser: 1, fakesynadia.RouteListGroups: 1,
			fakesynadia.RouteUpdateUser: 1, fakesynadia.RouteDownloadCreds: 1,
		})
		changed := credsOf(t, out, testKeys(t))
		checkCredentials(t, e.nats, changed, "orders.audit.read", "orders.events.created")
		rerunUnchanged(t, h, out.Files, 3)
		checkCalls(t, e.fake, map[string]int{fakesynadia.RouteGetUser: 3})
	})

	t.Run("delete revokes, then deletes; twice is fine", func(t *testing.T) {
		live, _, err := e.nats.Connect(creds)
		if err != nil {
			t.Fatal(err)
		}
		defer live.Close()
		out := h.Delete(context.Background())
		if out.Err != nil {
			t.Fatal(out.Err)
		}
		checkNoLeaks(t, out)
		checkCalls(t, e.fake, map[string]int{
			fakesynadia.RouteGetUser: 1, fakesynadia.RouteRevokeUser: 1, fakesynadia.RouteDeleteUser: 1,
		})
		if n := len(e.users("orders-api")); n != 0 {
			t.Fatalf("%d users left", n)
		}
		checkRefused(t, e.nats, creds)
		waitFor(t, live.IsClosed) // the server drops revoked users' connections too
		if msg := h.Status()["message"].(string); !strings.Contains(msg, "revoked") {
			t.Errorf("message %q", msg)
		}
		out = h.Delete(context.Background())
		if out.Err != nil {
			t.Fatalf("second delete: %v", out.Err)
		}
		checkCalls(t, e.fake, map[string]int{fakesynadia.RouteGetUser: 1, fakesynadia.RouteListUsers: 1})
	})
}

func TestCloudUserDeletedOutside(t *testing.T) {
	e := newCloud(t)
	h := e.harness(t, "orders-api", ordersSpec)
	configure(t, h)
	e.fake.RemoveUser(e.users("orders-api")[0].ID)
	e.fake.ResetCalls()
	out := configure(t, h)
	checkCalls(t, e.fake, map[string]int{
		fakesynadia.RouteGetUser: 1, fakesynadia.RouteListUsers: 1, fakesynadia.RouteListGroups: 1,
		fakesynadia.RouteCreateUser: 1, fakesynadia.RouteDownloadCreds: 1,
	})
	if users := e.users("orders-api"); len(users) != 1 || storedState(t, h).UserID != users[0].ID {
		t.Fatalf("users %+v", users)
	}
	checkCredentials(t, e.nats, credsOf(t, out, testKeys(t)), "orders.events.created", "payments.charge")
}

// TestCloudCrash stops a run after the user was created and before status
// was written, at each point where that can happen: the next run adopts
// the user, and there is only ever one.
func TestCloudCrash(t *testing.T) {
	tests := []struct {
		name  string
		route string
		fault fakesynadia.Fault
	}{
		{"credentials refused after create", fakesynadia.RouteDownloadCreds, fakesynadia.Fault{Status: 403, Body: "forbidden"}},
		{"credentials lost after create", fakesynadia.RouteDownloadCreds, fakesynadia.Fault{Drop: true, Commit: true}},
		{"create answered 400 after it took effect", fakesynadia.RouteCreateUser, fakesynadia.Fault{Status: 400, Commit: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newCloud(t)
			h := e.harness(t, "orders-api", ordersSpec)
			e.fake.Inject(tt.route, 10, tt.fault) // more than the retries
			out := h.Configure(context.Background())
			if out.Err == nil {
				t.Fatal("the run succeeded")
			}
			checkNoLeaks(t, out)
			if len(out.Files) != 0 || out.StatusYAML != nil {
				t.Fatalf("a failed run wrote %v and status %q", keys(out.Files), out.StatusYAML)
			}
			if strings.ContainsAny(out.Err.Error(), "\n") {
				t.Errorf("error is not one line: %q", out.Err)
			}
			e.fake.ClearFaults()
			configure(t, h)
			if !strings.Contains(h.Status()["message"].(string), "user found by name") {
				t.Errorf("message %q: not adopted", h.Status()["message"])
			}
			if n := len(e.users("orders-api")); n != 1 {
				t.Fatalf("%d users, want 1", n)
			}
		})
	}
}

// TestCloudFaults runs the first configure against failing answers and
// checks that it succeeds within its retries or fails with a clear
// message, and never leaves more than one user.
func TestCloudFaults(t *testing.T) {
	slow := fakesynadia.Fault{Delay: time.Second} // beyond the 400ms attempt limit
	tests := []struct {
		name    string
		route   string
		times   int
		fault   fakesynadia.Fault
		wantErr string // "" for success
	}{
		{"list 503 twice", fakesynadia.RouteListUsers, 2, fakesynadia.Fault{Status: 503}, ""},
		{"list 429 with Retry-After", fakesynadia.RouteListUsers, 1, fakesynadia.Fault{Status: 429, RetryAfter: "1"}, ""},
		{"list times out once", fakesynadia.RouteListUsers, 1, slow, ""},
		{"list connection reset", fakesynadia.RouteListUsers, 1, fakesynadia.Fault{Drop: true}, ""},
		{"list 503 beyond the attempts", fakesynadia.RouteListUsers, 10, fakesynadia.Fault{Status: 503, Body: "upstream down"}, "Synadia Cloud answered 503 Service Unavailable: upstream down"},
		{"groups 500 once", fakesynadia.RouteListGroups, 1, fakesynadia.Fault{Status: 500}, ""},
		{"create 503 before it took effect", fakesynadia.RouteCreateUser, 1, fakesynadia.Fault{Status: 503}, ""},
		{"create 429 with Retry-After", fakesynadia.RouteCreateUser, 1, fakesynadia.Fault{Status: 429, RetryAfter: "1"}, ""},
		{"create 500 after it took effect", fakesynadia.RouteCreateUser, 1, fakesynadia.Fault{Status: 500, Commit: true}, ""},
		{"create answer lost after it took effect", fakesynadia.RouteCreateUser, 1, fakesynadia.Fault{Drop: true, Commit: true}, ""},
		{"create answer held past the limit", fakesynadia.RouteCreateUser, 1, fakesynadia.Fault{HoldAnswer: time.Second}, ""},
		{"create 503 every time", fakesynadia.RouteCreateUser, 10, fakesynadia.Fault{Status: 503}, "after 3 attempts"},
		{"create 400", fakesynadia.RouteCreateUser, 1, fakesynadia.Fault{Status: 400, Body: "bad name"}, "Synadia Cloud answered 400 Bad Request: bad name"},
		{"credentials 502 twice", fakesynadia.RouteDownloadCreds, 2, fakesynadia.Fault{Status: 502}, ""},
		{"credentials time out once", fakesynadia.RouteDownloadCreds, 1, slow, ""},
		{"token refused", fakesynadia.RouteListUsers, 1, fakesynadia.Fault{Status: 401}, "the token was not accepted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newCloud(t)
			h := e.harness(t, "orders-api", ordersSpec)
			e.fake.Inject(tt.route, tt.times, tt.fault)
			out := h.Configure(context.Background())
			scanner := leakcheck.Scanner{Known: map[string][]byte{"Synadia token": []byte(e.fake.Token)}}
			if out.Err != nil {
				scanner.Check(t, "error", []byte(out.Err.Error()))
			}
			scanner.Check(t, "status", out.StatusYAML)
			switch {
			case tt.wantErr == "" && out.Err != nil:
				t.Fatalf("run failed: %v", out.Err)
			case tt.wantErr != "" && (out.Err == nil || !strings.Contains(out.Err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", out.Err, tt.wantErr)
			case tt.wantErr == "":
				checkCredentials(t, e.nats, credsOf(t, out, testKeys(t)), "orders.events.created", "payments.charge")
			}
			if n := len(e.users("orders-api")); n > 1 {
				t.Fatalf("%d users", n)
			}
		})
	}
}

// TestCloudCreateOutcomeUnknown: the create request is still being handled
// when the client gives up, so the user is not listed yet. The run fails
// rather than post again; the next run adopts the user.
func TestCloudCreateOutcomeUnknown(t *testing.T) {
	e := newCloud(t)
	h := e.harness(t, "orders-api", ordersSpec)
	e.fake.Inject(fakesynadia.RouteCreateUser, 1, fakesynadia.Fault{Delay: 800 * time.Millisecond})
	out := h.Configure(context.Background())
	if out.Err == nil || !strings.Contains(out.Err.Error(), "the next run adopts it") {
		t.Fatalf("error %v", out.Err)
	}
	if calls := e.fake.Calls()[fakesynadia.RouteCreateUser]; calls != 1 {
		t.Fatalf("%d create calls, want 1", calls)
	}
	waitFor(t, func() bool { return len(e.users("orders-api")) == 1 })
	configure(t, h)
	if !strings.Contains(h.Status()["message"].(string), "user found by name") {
		t.Errorf("message %q", h.Status()["message"])
	}
	if n := len(e.users("orders-api")); n != 1 {
		t.Fatalf("%d users", n)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 100 {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("condition not met within 2s")
}

func TestCloudDryRun(t *testing.T) {
	e := newCloud(t)
	h := e.harness(t, "orders-api", ordersSpec)
	h.Env["KRATIX_DRY_RUN"] = "true"
	out := h.Configure(context.Background())
	if out.Err != nil {
		t.Fatal(out.Err)
	}
	if len(out.Files) != 0 || !strings.Contains(h.Status()["message"].(string), "dry run: would create NATS user kratix.team-orders.orders-api in account default") {
		t.Fatalf("files %v, message %q", keys(out.Files), h.Status()["message"])
	}
	checkCalls(t, e.fake, map[string]int{fakesynadia.RouteListUsers: 1})

	delete(h.Env, "KRATIX_DRY_RUN")
	real := configure(t, h)
	e.fake.ResetCalls()
	h.Env["KRATIX_DRY_RUN"] = "true"
	setSpec(t, h, `publish: {allow: ["elsewhere.>"]}`)
	out = h.Configure(context.Background())
	if out.Err != nil {
		t.Fatal(out.Err)
	}
	if !sameBytes(out.Files, real.Files) {
		t.Error("a dry run changed the SealedSecret")
	}
	if msg := h.Status()["message"].(string); !strings.Contains(msg, "would issue new credentials") {
		t.Errorf("message %q", msg)
	}
	checkCalls(t, e.fake, map[string]int{fakesynadia.RouteGetUser: 1})

	del := h.Delete(context.Background())
	if del.Err != nil || !strings.Contains(h.Status()["message"].(string), "dry run: would revoke") {
		t.Fatalf("dry-run delete: %v, %q", del.Err, h.Status()["message"])
	}
	checkCalls(t, e.fake, map[string]int{fakesynadia.RouteGetUser: 1})
}

func TestCloudScopedSigningKeyGroup(t *testing.T) {
	e := newCloud(t)
	if _, err := e.fake.AddScopedSigningKeyGroup(e.account.ID, "Scoped", scopeFor("orders.>")); err != nil {
		t.Fatal(err)
	}
	// Point the account at the scoped group.
	cfg := readFile(t, e.config)
	writeFile(t, e.config, strings.Replace(cfg, "signingKeyGroup: Default", "signingKeyGroup: Scoped", 1))

	out := e.harness(t, "orders-api", ordersSpec).Configure(context.Background())
	if out.Err == nil || !strings.HasPrefix(out.Err.Error(), "spec.publish: ") || !strings.Contains(out.Err.Error(), "scope") {
		t.Fatalf("error %v, want one on spec.publish about the scope", out.Err)
	}
	plain := e.harness(t, "plain", "credentials: {lifetime: 24h, renewBefore: 2h}")
	creds := credsOf(t, configure(t, plain), testKeys(t))
	checkCredentials(t, e.nats, creds, "orders.scoped", "payments.charge")
	rerunUnchanged(t, plain, configure(t, plain).Files, 2)
}

// scopeFor is a signing key scope that allows publishing and subscribing
// below subject.
func scopeFor(subject string) jwt.UserPermissionLimits {
	var scope jwt.UserPermissionLimits
	scope.Pub.Allow.Add(subject)
	scope.Sub.Allow.Add(subject)
	scope.NatsLimits = jwt.NatsLimits{Subs: jwt.NoLimit, Data: jwt.NoLimit, Payload: jwt.NoLimit}
	return scope
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func writeFile(t *testing.T, name, data string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
