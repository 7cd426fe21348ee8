package natsuser

import (
	"context"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/stagetest"
	"github.com/promisekit/promisekit/promises/natsuser/backend"
	"github.com/promisekit/promisekit/promises/natsuser/internal/natstest"
)

// checkCredentials connects with creds, publishes on an allowed subject and
// receives it back, and sees a publish on denied refused.
func checkCredentials(t *testing.T, srv *natstest.Server, creds []byte, allowed, denied string) {
	t.Helper()
	nc, errs, err := srv.Connect(creds)
	if err != nil {
		t.Fatalf("connecting with the unsealed credentials: %v", err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync(allowed)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish(allowed, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if msg, err := sub.NextMsg(5 * time.Second); err != nil || string(msg.Data) != "hello" {
		t.Fatalf("publishing on allowed %s: got %v, %v", allowed, msg, err)
	}
	if err := nc.Publish(denied, []byte("nope")); err != nil {
		t.Fatal(err)
	}
	if err := natstest.Refused(errs); err != nil {
		t.Fatalf("publishing on denied %s: %v", denied, err)
	}
}

// checkRefused asserts that creds no longer connect.
func checkRefused(t *testing.T, srv *natstest.Server, creds []byte) {
	t.Helper()
	nc, _, err := srv.Connect(creds)
	if err == nil {
		nc.Close()
		t.Fatal("connected with credentials that should have been refused")
	}
	if !strings.Contains(strings.ToLower(err.Error()), "authorization violation") {
		t.Fatalf("connecting: %v, want an authorization violation", err)
	}
}

// setSpec replaces the request's spec, as a kubectl apply would.
func setSpec(t testing.TB, h *stagetest.Harness, spec string) {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(spec), &m); err != nil {
		t.Fatal(err)
	}
	h.Object["spec"] = m
}

// rerunUnchanged runs configure n times and asserts that every run's output
// equals want and every status equals the first re-run's.
func rerunUnchanged(t *testing.T, h *stagetest.Harness, want map[string][]byte, n int) {
	t.Helper()
	var status []byte
	for i := range n {
		out := configure(t, h)
		if !sameBytes(out.Files, want) {
			t.Fatalf("re-run %d changed the output", i+1)
		}
		if status == nil {
			status = out.StatusYAML
		} else if string(out.StatusYAML) != string(status) {
			t.Fatalf("re-run %d changed the status:\n%s\nwant\n%s", i+1, out.StatusYAML, status)
		}
	}
}

func TestSelfHosted(t *testing.T) {
	e := newSelfHosted(t)
	h := e.harness(t, "orders-api", ordersSpec)

	first := configure(t, h)
	creds := credsOf(t, first, e.keys)
	checkCredentials(t, e.nats, creds, "orders.events.created", "payments.charge")
	st := storedState(t, h)
	if want := h.Now.Add(DefaultLifetime); !st.CredentialsExpireAt.Equal(want) {
		t.Errorf("credentials expire at %s, want %s", st.CredentialsExpireAt, want)
	}
	if info, err := backend.InspectCredentials(creds); err != nil || info.UserPublicKey != st.UserPublicKey {
		t.Fatalf("state's key %s, credentials' %+v, %v", st.UserPublicKey, info, err)
	}
	status := h.Status()
	for key, want := range map[string]any{
		statusAccount: "default", statusSecret: "orders-api-nats", statusNATSURL: "nats://127.0.0.1:4222",
		statusExpiresAt: stamp(st.CredentialsExpireAt), statusRenewal: stamp(st.CredentialsExpireAt.Add(-DefaultRenewBefore)),
	} {
		if status[key] != want {
			t.Errorf("status.%s = %v, want %v", key, status[key], want)
		}
	}

	t.Run("re-runs change nothing", func(t *testing.T) {
		rerunUnchanged(t, h, first.Files, 20)
		if got := storedState(t, h).UserPublicKey; got != st.UserPublicKey {
			t.Fatalf("re-runs minted a new key %s", got)
		}
	})

	t.Run("renewal", func(t *testing.T) {
		h.Now = st.CredentialsExpireAt.Add(-DefaultRenewBefore).Add(time.Minute)
		out := configure(t, h)
		if !strings.Contains(h.Status()["message"].(string), "renewal due") {
			t.Errorf("message %q does not say why", h.Status()["message"])
		}
		if sameBytes(out.Files, first.Files) {
			t.Fatal("renewal kept the old ciphertext")
		}
		renewed := credsOf(t, out, e.keys)
		checkCredentials(t, e.nats, renewed, "orders.events.created", "payments.charge")
		// The old credentials were replaced, not revoked: workloads keep
		// working until they read the new Secret.
		checkCredentials(t, e.nats, creds, "orders.events.created", "payments.charge")
		next := storedState(t, h)
		if len(next.ReplacedKeys) != 1 || next.ReplacedKeys[0].UserPublicKey != st.UserPublicKey {
			t.Fatalf("replaced keys %+v, want the first key", next.ReplacedKeys)
		}
		rerunUnchanged(t, h, out.Files, 3)
		creds, st = renewed, next
	})

	t.Run("settings change", func(t *testing.T) {
		setSpec(t, h, `
publish:
  allow: ["orders.audit.>"]
subscribe:
  allow: ["orders.>"]
`)
		out := configure(t, h)
		if !strings.Contains(h.Status()["message"].(string), "settings changed") {
			t.Errorf("message %q does not say why", h.Status()["message"])
		}
		changed := credsOf(t, out, e.keys)
		checkCredentials(t, e.nats, changed, "orders.audit.read", "orders.events.created")
	})

	t.Run("replaced keys drop off once expired", func(t *testing.T) {
		h.Now = st.CredentialsExpireAt.Add(time.Second) // the first key expired long ago
		configure(t, h)
		if replaced := storedState(t, h).ReplacedKeys; len(replaced) != 0 {
			t.Errorf("expired keys still listed: %+v", replaced)
		}
	})

	t.Run("delete cannot revoke and says so", func(t *testing.T) {
		for range 2 {
			out := h.Delete(context.Background())
			if out.Err != nil {
				t.Fatal(out.Err)
			}
			checkNoLeaks(t, out)
			if len(out.Files) != 0 {
				t.Errorf("delete wrote output %v", keys(out.Files))
			}
			msg := h.Status()["message"].(string)
			if !strings.Contains(msg, "stay valid until") {
				t.Errorf("message %q does not say the credentials stay valid", msg)
			}
		}
	})
}

func TestSelfHostedMultipleUsers(t *testing.T) {
	e := newSelfHosted(t)
	a := configure(t, e.harness(t, "orders-api", ordersSpec))
	b := configure(t, e.harness(t, "billing", `
publish:
  allow: ["billing.>"]
subscribe:
  allow: ["billing.>"]
`))
	checkCredentials(t, e.nats, credsOf(t, a, e.keys), "orders.events.created", "billing.run")
	checkCredentials(t, e.nats, credsOf(t, b, e.keys), "billing.run", "orders.events.created")
}
