package synadia

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/promises/natsuser/backend"
	"github.com/promisekit/promisekit/promises/natsuser/internal/fakesynadia"
)

// fixture is a client on a fake account whose waits are recorded, not
// slept.
type fixture struct {
	fake    *fakesynadia.Server
	account fakesynadia.Account
	client  *Client
	mu      sync.Mutex
	waits   []time.Duration
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	fake, err := fakesynadia.Start(fakesynadia.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	acct, err := fake.AddAccount("orders")
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(fake.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Open(Options{
		URL: fake.URL, TokenFile: tokenFile, AccountID: acct.ID, SigningKeyGroup: "Default",
		AttemptTimeout: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{fake: fake, account: acct, client: c}
	c.sleep = func(ctx context.Context, d time.Duration) error {
		f.mu.Lock()
		f.waits = append(f.waits, d)
		f.mu.Unlock()
		return ctx.Err()
	}
	return f
}

var settings = backend.Settings{
	Publish:   backend.Permission{Allow: []string{"orders.>"}},
	Subscribe: backend.Permission{Allow: []string{"orders.>", "_INBOX.>"}, Deny: []string{"orders.secret"}},
	Responses: &backend.Responses{MaxMessages: 1, TTL: time.Minute},
	Limits:    backend.Limits{Subscriptions: 10, Data: backend.NoLimit, Payload: 1 << 20},
	Lifetime:  24 * time.Hour,
}

func TestRoundTrip(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if u, err := f.client.FindUser(ctx, backend.Ref{Name: "a"}); u != nil || err != nil {
		t.Fatalf("FindUser before create: %v, %v", u, err)
	}
	u, err := f.client.CreateUser(ctx, "a", settings)
	if err != nil {
		t.Fatal(err)
	}
	if u.Origin != backend.Created || !u.Settings.Equal(settings) {
		t.Fatalf("created %+v with settings %+v, want %+v", u, u.Settings, settings)
	}
	byID, err := f.client.FindUser(ctx, backend.Ref{ID: u.ID, Name: "a"})
	if err != nil || byID.Origin != backend.Known || byID.PublicKey != u.PublicKey {
		t.Fatalf("FindUser by ID: %+v, %v", byID, err)
	}
	byName, err := f.client.FindUser(ctx, backend.Ref{Name: "a"})
	if err != nil || byName.Origin != backend.Adopted || byName.ID != u.ID {
		t.Fatalf("FindUser by name: %+v, %v", byName, err)
	}

	changed := settings
	changed.Publish = backend.Permission{}
	changed.Responses = nil
	changed.Lifetime = time.Hour
	updated, err := f.client.UpdateUser(ctx, u, changed)
	if err != nil || !updated.Settings.Equal(changed) {
		t.Fatalf("UpdateUser: %+v, %v; want settings %+v", updated.Settings, err, changed)
	}

	creds, err := f.client.IssueCredentials(ctx, updated, changed, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	info, err := backend.InspectCredentials(creds)
	if err != nil || info.UserPublicKey != u.PublicKey || info.ExpiresAt.Sub(info.IssuedAt) > time.Hour+time.Second {
		t.Fatalf("credentials %+v, %v", info, err)
	}

	d, err := f.client.DeleteUser(ctx, u)
	if err != nil || !d.Revoked || !d.Existed {
		t.Fatalf("DeleteUser: %+v, %v", d, err)
	}
	if d, err = f.client.DeleteUser(ctx, u); err != nil || d.Existed {
		t.Fatalf("second DeleteUser: %+v, %v", d, err)
	}
	if u, err := f.client.FindUser(ctx, backend.Ref{ID: u.ID, Name: "a"}); u != nil || err != nil {
		t.Fatalf("FindUser after delete: %+v, %v", u, err)
	}
}

// TestUpdateClearsWhatTheRequestDropped: a PATCH leaves out nothing the
// stage manages, so a list, a permission or a response rule the request no
// longer has is gone from the user afterwards, and what stays is kept.
func TestUpdateClearsWhatTheRequestDropped(t *testing.T) {
	tests := []struct {
		name   string
		change func(s *backend.Settings)
	}{
		{"one list of a permission", func(s *backend.Settings) { s.Subscribe.Deny = nil }},
		{"the other list", func(s *backend.Settings) { s.Subscribe.Allow = nil }},
		{"a whole permission", func(s *backend.Settings) { s.Publish = backend.Permission{} }},
		{"the response rule", func(s *backend.Settings) { s.Responses = nil }},
		{"nothing", func(*backend.Settings) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			u, err := f.client.CreateUser(ctx, "a", settings)
			if err != nil {
				t.Fatal(err)
			}
			want := settings
			want.Subscribe = backend.Permission{Allow: slices.Clone(settings.Subscribe.Allow), Deny: slices.Clone(settings.Subscribe.Deny)}
			tt.change(&want)
			if _, err := f.client.UpdateUser(ctx, u, want); err != nil {
				t.Fatal(err)
			}
			// Read back, not the PATCH's answer: what the account holds.
			got, err := f.client.FindUser(ctx, backend.Ref{ID: u.ID, Name: "a"})
			if err != nil {
				t.Fatal(err)
			}
			if !got.Settings.Equal(want) {
				t.Errorf("user's settings %+v, want %+v", got.Settings, want)
			}
		})
	}
}

func TestDuplicateNames(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for range 2 {
		if _, err := f.client.CreateUser(ctx, "twin", settings); err != nil {
			t.Fatal(err)
		}
	}
	_, err := f.client.FindUser(ctx, backend.Ref{Name: "twin"})
	if err == nil || !strings.Contains(err.Error(), `2 NATS users named "twin"`) {
		t.Fatalf("error %v", err)
	}
}

// TestRetries checks which requests are repeated and how long the client
// waits in between, with waits recorded rather than slept.
func TestRetries(t *testing.T) {
	tests := []struct {
		name      string
		route     string
		faults    []fakesynadia.Fault
		call      func(*fixture) error
		wantCalls int
		wantWaits []time.Duration // exact; nil: only their count is checked
		wantErr   string
	}{
		{
			name:      "GET after 503 twice",
			route:     fakesynadia.RouteListUsers,
			faults:    []fakesynadia.Fault{{Status: 503}, {Status: 503}},
			call:      findByName,
			wantCalls: 3,
		},
		{
			name:      "Retry-After in seconds",
			route:     fakesynadia.RouteListUsers,
			faults:    []fakesynadia.Fault{{Status: 429, RetryAfter: "7"}},
			call:      findByName,
			wantCalls: 2,
			wantWaits: []time.Duration{7 * time.Second},
		},
		{
			name:      "GET that times out",
			route:     fakesynadia.RouteListUsers,
			faults:    []fakesynadia.Fault{{HoldAnswer: time.Second}},
			call:      findByName,
			wantCalls: 2,
		},
		{
			name:      "GET beyond the attempts",
			route:     fakesynadia.RouteListUsers,
			faults:    repeat(fakesynadia.Fault{Status: 500, Body: "boom\nsecond line"}, 10),
			call:      findByName,
			wantCalls: DefaultAttempts,
			wantErr:   "Synadia Cloud answered 500 Internal Server Error: boom second line",
		},
		{
			name:  "404 is not retried",
			route: fakesynadia.RouteGetUser,
			call: func(f *fixture) error {
				_, err := f.client.FindUser(context.Background(), backend.Ref{ID: "gone", Name: "a"})
				return err
			},
			wantCalls: 1,
		},
		{
			name:      "401 fails at once",
			route:     fakesynadia.RouteListUsers,
			faults:    []fakesynadia.Fault{{Status: 401}},
			call:      findByName,
			wantCalls: 1,
			wantErr:   "401 Unauthorized (the token was not accepted",
		},
		{
			name:      "create is not repeated after a lost answer",
			route:     fakesynadia.RouteCreateUser,
			faults:    []fakesynadia.Fault{{Drop: true}},
			call:      create,
			wantCalls: 1,
			wantErr:   "the next run adopts it if it was created",
		},
		{
			name:      "create repeated after a 503 and a listing",
			route:     fakesynadia.RouteCreateUser,
			faults:    []fakesynadia.Fault{{Status: 503, RetryAfter: "2"}},
			call:      create,
			wantCalls: 2,
			wantWaits: []time.Duration{2 * time.Second},
		},
		{
			name:      "create that took effect is not repeated",
			route:     fakesynadia.RouteCreateUser,
			faults:    []fakesynadia.Fault{{Status: 502, Commit: true}},
			call:      create,
			wantCalls: 1,
		},
		{
			name:      "create 400 is final",
			route:     fakesynadia.RouteCreateUser,
			faults:    []fakesynadia.Fault{{Status: 400, Body: "name taken"}},
			call:      create,
			wantCalls: 1,
			wantErr:   "creating NATS user \"a\": Synadia Cloud answered 400 Bad Request: name taken",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			for _, fault := range tt.faults {
				f.fake.Inject(tt.route, 1, fault)
			}
			err := tt.call(f)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			if got := f.fake.Calls()[tt.route]; got != tt.wantCalls {
				t.Errorf("%d calls to %s, want %d", got, tt.route, tt.wantCalls)
			}
			if tt.wantWaits != nil && !equalDurations(f.waits, tt.wantWaits) {
				t.Errorf("waited %v, want %v", f.waits, tt.wantWaits)
			}
			if err != nil && strings.Contains(err.Error(), f.fake.Token) {
				t.Error("the error quotes the token")
			}
			if n := len(f.fake.Users(f.account.ID)); n > 1 {
				t.Errorf("%d users", n)
			}
		})
	}
}

func findByName(f *fixture) error {
	_, err := f.client.FindUser(context.Background(), backend.Ref{Name: "a"})
	return err
}

func create(f *fixture) error {
	_, err := f.client.CreateUser(context.Background(), "a", settings)
	return err
}

func repeat(f fakesynadia.Fault, n int) []fakesynadia.Fault {
	out := make([]fakesynadia.Fault, n)
	for i := range out {
		out[i] = f
	}
	return out
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestBackoff(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second}
	for n, hi := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 5: time.Second, 40: time.Second} {
		for range 50 {
			if d := b.wait(n, nil); d < hi/2 || d > hi {
				t.Fatalf("wait %d = %s, want within [%s, %s]", n, d, hi/2, hi)
			}
		}
	}
	answer := &http.Response{Header: http.Header{"Retry-After": {time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)}}}
	if d := b.wait(1, answer); d < 28*time.Second || d > 30*time.Second {
		t.Errorf("Retry-After as a date: waited %s", d)
	}
}

// TestBudget: a Retry-After beyond the caller's deadline ends the retries
// with the last answer instead of sleeping past it.
func TestBudget(t *testing.T) {
	f := newFixture(t)
	f.fake.Inject(fakesynadia.RouteListUsers, 1, fakesynadia.Fault{Status: 503, RetryAfter: "3600"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := f.client.FindUser(ctx, backend.Ref{Name: "a"})
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("error %v", err)
	}
	if len(f.waits) != 0 {
		t.Errorf("waited %v", f.waits)
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"ok", Options{TokenFile: write("ok", "uat_abc\n"), AccountID: "a", SigningKeyGroup: "g"}, ""},
		{"missing token", Options{TokenFile: filepath.Join(dir, "none"), AccountID: "a", SigningKeyGroup: "g"}, "reading the Synadia Cloud token"},
		{"two lines", Options{TokenFile: write("two", "uat_abc\nuat_def\n"), AccountID: "a", SigningKeyGroup: "g"}, "one token on one line"},
		{"empty", Options{TokenFile: write("empty", "\n"), AccountID: "a", SigningKeyGroup: "g"}, "one token on one line"},
		{"no account", Options{TokenFile: write("ok2", "uat_abc"), SigningKeyGroup: "g"}, "account ID is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(tt.opts)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatal(err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			case err != nil && strings.Contains(err.Error(), "uat_"):
				t.Fatalf("error quotes the token: %v", err)
			}
		})
	}
}

func TestScopedGroupRefusesSettings(t *testing.T) {
	f := newFixture(t)
	if _, err := f.fake.AddScopedSigningKeyGroup(f.account.ID, "Scoped", jwtScope()); err != nil {
		t.Fatal(err)
	}
	f.client.group = "Scoped"
	_, err := f.client.CreateUser(context.Background(), "a", settings)
	if !errors.Is(err, backend.ErrScopedSigningKey) {
		t.Fatalf("error %v", err)
	}
	plain := backend.Settings{Limits: backend.Limits{Subscriptions: -1, Data: -1, Payload: -1}, Lifetime: time.Hour}
	if _, err := f.client.CreateUser(context.Background(), "b", plain); err != nil {
		t.Fatal(err)
	}
}

func jwtScope() jwt.UserPermissionLimits {
	var scope jwt.UserPermissionLimits
	scope.Pub.Allow.Add("orders.>")
	scope.NatsLimits = jwt.NatsLimits{Subs: jwt.NoLimit, Data: jwt.NoLimit, Payload: jwt.NoLimit}
	return scope
}

// TestAnswersThatClearByThemselves: "later" (429, 5xx) after every attempt
// the run could afford is a failure a later run may get through; any
// other answer is not.
func TestAnswersThatClearByThemselves(t *testing.T) {
	for code, want := range map[int]bool{429: true, 500: true, 503: true, 400: false, 401: false, 403: false, 404: false, 409: false} {
		var te *kratix.TransientError
		if got := errors.As(answered(fmt.Sprint(code), code, nil), &te); got != want {
			t.Errorf("%d: transient %v, want %v", code, got, want)
		}
	}
}
