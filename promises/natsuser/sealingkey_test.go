package natsuser

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bitnami-labs/sealed-secrets/pkg/apis/sealedsecrets/v1alpha1"
	"github.com/bitnami-labs/sealed-secrets/pkg/crypto"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/stagetest"
	"github.com/promisekit/promisekit/pkg/sealing"
	"github.com/promisekit/promisekit/promises/natsuser/backend"
	"github.com/promisekit/promisekit/promises/natsuser/internal/fakesynadia"
	"github.com/promisekit/promisekit/promises/natsuser/internal/natstest"
)

// controllerKey is one key pair of the sealed-secrets controller and the
// certificate the platform mounts for it.
type controllerKey struct {
	priv   *rsa.PrivateKey
	pem    []byte
	fp     string // crypto.PublicKeyFingerprint, as the controller names it
	sha256 string // the certificate's, as state keeps it
}

// devkeysControllerKey is the controller key of the shared devkeys set,
// which every other test seals with.
func devkeysControllerKey(t *testing.T) *controllerKey {
	t.Helper()
	k := testKeys(t)
	priv, err := k.SealingKey()
	if err != nil {
		t.Fatal(err)
	}
	pemData, err := os.ReadFile(k.CertificateFile)
	if err != nil {
		t.Fatal(err)
	}
	return newControllerKeyFrom(t, priv, pemData)
}

// renewedControllerKey is the key the controller makes when it renews its
// key: a new RSA key pair with a new certificate.
func renewedControllerKey(t *testing.T) *controllerKey {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	c, err := crypto.SignKeyWithNotBefore(rand.Reader, priv, time.Now().Add(-24*time.Hour), 10*365*24*time.Hour, "sealed-secrets-renewed")
	if err != nil {
		t.Fatal(err)
	}
	return newControllerKeyFrom(t, priv, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

func newControllerKeyFrom(t *testing.T, priv *rsa.PrivateKey, pemData []byte) *controllerKey {
	t.Helper()
	fp, err := crypto.PublicKeyFingerprint(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := sealing.ParseCertificate(pemData, time.Now(), "")
	if err != nil {
		t.Fatal(err)
	}
	return &controllerKey{priv: priv, pem: pemData, fp: fp, sha256: cert.SHA256}
}

// unsealWith decrypts a SealedSecret as a controller holding keys does,
// with sealed-secrets' own Unseal.
func unsealWith(t *testing.T, manifest []byte, keys ...*controllerKey) (map[string][]byte, error) {
	t.Helper()
	var ss v1alpha1.SealedSecret
	if err := yaml.UnmarshalStrict(manifest, &ss); err != nil {
		t.Fatalf("parsing SealedSecret: %v", err)
	}
	held := map[string]*rsa.PrivateKey{}
	for _, k := range keys {
		held[k.fp] = k.priv
	}
	secret, err := ss.Unseal(scheme.Codecs, held)
	if err != nil {
		return nil, err
	}
	return secret.Data, nil
}

// sealingEnv is one NATS account under a sealing certificate the test
// replaces, as the platform does when it mounts the controller's newer
// certificate in the ConfigMap.
type sealingEnv struct {
	h        *stagetest.Harness
	nats     *natstest.Server
	certFile string
	setNow   func(time.Time)
	// retire rewrites the configuration with config.sealing.retiredKeys.
	retire func(t *testing.T, fps ...string)
	// quiet fails unless no credentials were issued and nothing outside
	// changed since the last check.
	quiet func(t *testing.T)
	// issuedOnce fails unless credentials were issued exactly once since
	// the last check, and nothing else outside changed.
	issuedOnce func(t *testing.T)
	// settle makes what happened so far the baseline of the next check.
	settle func(t *testing.T)
}

// mount replaces the mounted sealing certificate with k's.
func (e *sealingEnv) mount(t *testing.T, k *controllerKey) {
	t.Helper()
	writeFile(t, e.certFile, string(k.pem))
}

// retiredKeysYAML is config.sealing.retiredKeys, or nothing.
func retiredKeysYAML(fps []string) string {
	if len(fps) == 0 {
		return ""
	}
	quoted := make([]string, len(fps))
	for i, fp := range fps {
		quoted[i] = strconv.Quote(fp)
	}
	return "  retiredKeys: [" + strings.Join(quoted, ", ") + "]\n"
}

func newSelfHostedSealing(t *testing.T, name string) *sealingEnv {
	s := newSelfHosted(t)
	dir := t.TempDir()
	e := &sealingEnv{h: s.harness(t, name, ordersSpec), nats: s.nats, certFile: filepath.Join(dir, "cert.pem")}
	config := filepath.Join(dir, "config.yaml")
	e.retire = func(t *testing.T, fps ...string) {
		writeFile(t, config, fmt.Sprintf(`sealing:
  certificate: %s
%saccounts:
  default:
    natsURL: nats://127.0.0.1:4222
    selfHosted:
      accountPublicKey: %s
      signingKeyFile: %s
`, e.certFile, retiredKeysYAML(fps), s.keys.AccountPublicKey, s.keys.SigningKeyFile))
	}
	e.retire(t)
	e.h.Env["PROMISEKIT_CONFIG"] = config
	e.setNow = func(now time.Time) { e.h.Now = now }
	// A self-hosted account keeps no users: issuing credentials is signing
	// a JWT for a fresh nkey, so the state's key tells whether it happened.
	var last *record
	issued := func(t *testing.T) int {
		t.Helper()
		st := storedState(t, e.h)
		n := 0
		if last != nil && (st.UserPublicKey != last.UserPublicKey || !st.CredentialsIssuedAt.Equal(last.CredentialsIssuedAt)) {
			n = 1
		}
		last = &st
		return n
	}
	e.settle = func(t *testing.T) { issued(t) }
	e.quiet = func(t *testing.T) {
		t.Helper()
		if issued(t) != 0 {
			t.Fatal("new credentials were signed")
		}
	}
	e.issuedOnce = func(t *testing.T) {
		t.Helper()
		if issued(t) != 1 {
			t.Fatal("no new credentials were signed")
		}
	}
	return e
}

func newCloudSealing(t *testing.T, name string) *sealingEnv {
	c := newCloud(t)
	e := &sealingEnv{h: c.harness(t, name, ordersSpec), nats: c.nats, certFile: filepath.Join(t.TempDir(), "cert.pem")}
	base := readFile(t, c.config)
	from := "  certificate: " + testKeys(t).CertificateFile + "\n"
	if !strings.Contains(base, from) {
		t.Fatalf("configuration %s has no line %q", c.config, from)
	}
	e.retire = func(t *testing.T, fps ...string) {
		writeFile(t, c.config, strings.Replace(base, from, "  certificate: "+e.certFile+"\n"+retiredKeysYAML(fps), 1))
	}
	e.retire(t)
	e.setNow = func(now time.Time) { c.setNow(e.h, now) }
	// Everything but a GET changes something or mints credentials.
	e.settle = func(*testing.T) { c.fake.ResetCalls() }
	e.quiet = func(t *testing.T) {
		t.Helper()
		if calls := c.fake.Calls(); c.fake.Mutations() != 0 {
			t.Fatalf("calls %v: credentials downloaded or something changed", calls)
		}
		c.fake.ResetCalls()
	}
	e.issuedOnce = func(t *testing.T) {
		t.Helper()
		if calls := c.fake.Calls(); calls[fakesynadia.RouteDownloadCreds] != 1 || c.fake.Mutations() != 1 {
			t.Fatalf("calls %v, want one credential download and nothing else that changes anything", calls)
		}
		c.fake.ResetCalls()
	}
	return e
}

var sealingBackends = []struct {
	name string
	new  func(t *testing.T, name string) *sealingEnv
}{
	{"self-hosted", newSelfHostedSealing},
	{"synadia", newCloudSealing},
}

// checkSealedWith fails unless the SealedSecret of out was sealed with
// want alone, opens with every key the controller holds, and carries
// credentials that connect; status and state name want's key.
func checkSealedWith(t *testing.T, e *sealingEnv, out *stagetest.Outcome, want *controllerKey, held ...*controllerKey) {
	t.Helper()
	manifest := sealedSecret(t, out)
	data, err := unsealWith(t, manifest, held...)
	if err != nil {
		t.Fatalf("the controller holding %d keys cannot unseal: %v", len(held), err)
	}
	if _, err := unsealWith(t, manifest, want); err != nil {
		t.Fatalf("not sealed with key %s: %v", want.fp, err)
	}
	for _, k := range held {
		if k.fp == want.fp {
			continue
		}
		if _, err := unsealWith(t, manifest, k); err == nil {
			t.Fatalf("opens with key %s, want %s only", k.fp, want.fp)
		}
	}
	checkCredentials(t, e.nats, data[DefaultSecretKey], "orders.events.created", "payments.charge")
	if got := e.h.Status()[statusSealingKey]; got != want.fp {
		t.Errorf("status.%s = %v, want %s", statusSealingKey, got, want.fp)
	}
	st := storedState(t, e.h)
	if st.Sealed.KeyFingerprint != want.fp || st.CertificateSHA256 != want.sha256 {
		t.Errorf("state names key %s and certificate %s, want %s and %s", st.Sealed.KeyFingerprint, st.CertificateSHA256, want.fp, want.sha256)
	}
}

// firstIssue configures a new request under old and re-runs it once; it
// returns the output and the status every later run must repeat.
func firstIssue(t *testing.T, e *sealingEnv, old *controllerKey) (*stagetest.Outcome, []byte) {
	t.Helper()
	e.mount(t, old)
	first := configure(t, e.h)
	checkSealedWith(t, e, first, old, old)
	e.settle(t)
	again := configure(t, e.h)
	if !sameBytes(again.Files, first.Files) {
		t.Fatal("a re-run changed the output")
	}
	e.quiet(t)
	return first, again.StatusYAML
}

// checkSteady runs configure at each time and fails unless every run
// repeats want and status byte for byte and calls nothing that issues or
// changes.
func checkSteady(t *testing.T, e *sealingEnv, want *stagetest.Outcome, status []byte, times ...time.Time) {
	t.Helper()
	for _, now := range times {
		e.setNow(now)
		out := configure(t, e.h)
		if !sameBytes(out.Files, want.Files) {
			t.Fatalf("run at %s changed the SealedSecret", stamp(now))
		}
		if string(out.StatusYAML) != string(status) {
			t.Fatalf("run at %s changed the status:\n%s\nwant\n%s", stamp(now), out.StatusYAML, status)
		}
		e.quiet(t)
	}
}

// TestSealingKeyRenewal: the controller renews its key and the platform
// mounts the new certificate mid-life. Nothing is issued or re-sealed until
// the renewal point; there the new credentials are sealed with the new key.
// The controller, holding both keys, opens the old and the new SealedSecret.
func TestSealingKeyRenewal(t *testing.T) {
	for _, b := range sealingBackends {
		t.Run(b.name, func(t *testing.T) {
			e := b.new(t, "orders-api")
			old, renewed := devkeysControllerKey(t), renewedControllerKey(t)
			first, status := firstIssue(t, e, old)
			st := storedState(t, e.h)
			start, renewal := e.h.Now, st.CredentialsExpireAt.Add(-DefaultRenewBefore)

			e.mount(t, renewed)
			checkSteady(t, e, first, status,
				start, start.Add(time.Hour), start.Add(10*24*time.Hour), renewal.Add(-time.Minute), renewal.Add(-time.Second))
			if got := e.h.Status()[statusSealingKey]; got != old.fp {
				t.Fatalf("status.%s = %v, want the old key %s", statusSealingKey, got, old.fp)
			}

			e.setNow(renewal)
			out := configure(t, e.h)
			e.issuedOnce(t)
			if msg := e.h.Status()["message"].(string); !strings.Contains(msg, "(renewal due)") {
				t.Errorf("message %q, want renewal due", msg)
			}
			if sameBytes(out.Files, first.Files) {
				t.Fatal("the renewal kept the old ciphertext")
			}
			checkSealedWith(t, e, out, renewed, old, renewed)
			// The old SealedSecret still opens, with the keys the controller
			// keeps, until the new one replaces it.
			if _, err := unsealWith(t, sealedSecret(t, first), old, renewed); err != nil {
				t.Fatalf("the old SealedSecret no longer opens: %v", err)
			}
			rerunUnchanged(t, e.h, out.Files, 3)
			e.quiet(t)
		})
	}
}

// TestSealingKeyRetired: only a key the platform lists in
// config.sealing.retiredKeys replaces credentials, exactly once, sealed
// with the mounted certificate's key.
func TestSealingKeyRetired(t *testing.T) {
	for _, b := range sealingBackends {
		t.Run(b.name, func(t *testing.T) {
			e := b.new(t, "orders-api")
			old, renewed, unrelated := devkeysControllerKey(t), renewedControllerKey(t), renewedControllerKey(t)
			first, status := firstIssue(t, e, old)
			now := e.h.Now

			e.mount(t, renewed)
			checkSteady(t, e, first, status, now)
			e.retire(t, unrelated.fp) // another key: nothing here was sealed with it
			checkSteady(t, e, first, status, now.Add(time.Hour))

			e.retire(t, unrelated.fp, old.fp)
			e.setNow(now.Add(2 * time.Hour))
			out := configure(t, e.h)
			e.issuedOnce(t)
			if msg := e.h.Status()["message"].(string); !strings.Contains(msg, "new credentials (sealing key retired)") {
				t.Errorf("message %q, want sealing key retired", msg)
			}
			checkSealedWith(t, e, out, renewed, old, renewed)
			if _, err := unsealWith(t, sealedSecret(t, first), old, renewed); err != nil {
				t.Fatalf("the old SealedSecret no longer opens with the keys the controller holds: %v", err)
			}
			for i := range 5 {
				e.setNow(now.Add(time.Duration(3+i) * time.Hour))
				again := configure(t, e.h)
				if !sameBytes(again.Files, out.Files) {
					t.Fatalf("re-run %d after the retirement changed the output", i+1)
				}
				e.quiet(t)
			}
		})
	}
}

// TestSealingKeyRetiredInUse: retiring the mounted certificate's own key
// is a configuration error naming the list entry, found before anything
// outside is asked; the earlier output stays.
func TestSealingKeyRetiredInUse(t *testing.T) {
	for _, b := range sealingBackends {
		t.Run(b.name, func(t *testing.T) {
			e := b.new(t, "orders-api")
			old, renewed := devkeysControllerKey(t), renewedControllerKey(t)
			firstIssue(t, e, old)
			e.mount(t, renewed)
			e.retire(t, old.fp, renewed.fp)
			out := e.h.Configure(context.Background())
			want := "config.sealing.retiredKeys[1]: " + renewed.fp + " is the key of the mounted sealing certificate " + e.certFile
			if out.Err == nil || !strings.HasPrefix(out.Err.Error(), want) || strings.ContainsAny(out.Err.Error(), "\r\n") {
				t.Fatalf("error %v, want one line starting %q", out.Err, want)
			}
			if len(out.Files) != 0 || out.StatusYAML != nil {
				t.Errorf("a refused run wrote %v and status %q", keys(out.Files), out.StatusYAML)
			}
			e.quiet(t)
		})
	}
}

func TestRetiredKeysConfig(t *testing.T) {
	key := renewedControllerKey(t)
	other := renewedControllerKey(t)
	tests := []struct {
		name    string
		keys    string // config.sealing.retiredKeys
		wantErr string // "" when valid
	}{
		{"none", `[]`, ""},
		{"one", fmt.Sprintf("[%q]", key.fp), ""},
		{"two", fmt.Sprintf("[%q, %q]", key.fp, other.fp), ""},
		{"empty entry", fmt.Sprintf("[%q, \"\"]", key.fp), `config.sealing.retiredKeys[1]: "" is not a key fingerprint: want "SHA256:" and 43 characters of unpadded base64, as ssh-keygen -l prints the key`},
		{"the certificate's SHA-256", fmt.Sprintf("[%q]", key.sha256), `config.sealing.retiredKeys[0]: "` + key.sha256 + `" is not a key fingerprint: want "SHA256:" and 43 characters of unpadded base64, as ssh-keygen -l prints the key (64 hex digits are a certificate's SHA-256, not its key's fingerprint)`},
		{"without the SHA256: prefix", fmt.Sprintf("[%q]", strings.TrimPrefix(key.fp, "SHA256:")), "config.sealing.retiredKeys[0]: "},
		{"truncated", fmt.Sprintf("[%q]", key.fp[:30]), "config.sealing.retiredKeys[0]: "},
		{"repeated", fmt.Sprintf("[%q, %q, %q]", key.fp, other.fp, key.fp), "config.sealing.retiredKeys[2]: repeats config.sealing.retiredKeys[0]"},
		{"not a list", fmt.Sprintf("%q", key.fp), "config.sealing.retiredKeys"},
		{"not strings", `[{fingerprint: x}]`, "config.sealing.retiredKeys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "config.yaml")
			writeFile(t, file, "sealing:\n  retiredKeys: "+tt.keys+"\n")
			cfg, err := loadConfig(file)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatal(err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			case err != nil && strings.ContainsAny(err.Error(), "\r\n"):
				t.Fatalf("error is not one line: %q", err)
			case tt.wantErr == "" && len(cfg.Sealing.RetiredKeys) != strings.Count(tt.keys, "SHA256:"):
				t.Fatalf("retired keys %v", cfg.Sealing.RetiredKeys)
			}
		})
	}
}

// TestIssueReasonSealingKey: the key a record was sealed with matters only
// when it is retired, after every reason that concerns the credentials
// themselves.
func TestIssueReasonSealingKey(t *testing.T) {
	r, err := validateSpec(&Spec{}, "orders-api")
	if err != nil {
		t.Fatal(err)
	}
	target := sealing.Target{Namespace: "team-orders", Name: r.secretName, Scope: sealing.Strict}
	now := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	const old, renewed = "SHA256:" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "SHA256:" + "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA"
	prev := func(edit func(*record)) *record {
		rec := &record{
			UserPublicKey:       "UKEY",
			SettingsHash:        r.settings.Hash(),
			CredentialsIssuedAt: now,
			CredentialsExpireAt: now.Add(DefaultLifetime),
			Sealed: sealing.Record{KeyFingerprint: old, Namespace: target.Namespace, Name: target.Name, Scope: target.Scope,
				EncryptedData: map[string]string{DefaultSecretKey: "AgA="}},
		}
		if edit != nil {
			edit(rec)
		}
		return rec
	}
	user := &backend.User{Name: "kratix.team-orders.orders-api", PublicKey: "UKEY"}
	renewal := now.Add(DefaultLifetime - DefaultRenewBefore)
	tests := []struct {
		name    string
		prev    *record
		retired []string
		now     time.Time
		want    string
	}{
		{"steady", prev(nil), nil, now, ""},
		{"sealed with an older key, not retired", prev(nil), []string{renewed}, now, ""},
		{"sealed with a retired key", prev(nil), []string{renewed, old}, now, "sealing key retired"},
		{"no key recorded", prev(func(p *record) { p.Sealed.KeyFingerprint = "" }), nil, now, "sealing key retired"},
		{"settings changed first", prev(func(p *record) { p.SettingsHash = "other" }), []string{old}, now, "settings changed"},
		{"retired before the renewal point", prev(nil), []string{old}, renewal, "sealing key retired"},
		{"renewal point, old key kept", prev(nil), nil, renewal, "renewal due"},
		{"Secret moved", prev(func(p *record) { p.Sealed.Name = "elsewhere" }), nil, now, "Secret changed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := issueReason(true, tt.prev, user, r, tt.retired, target, tt.now); got != tt.want {
				t.Errorf("issueReason = %q, want %q", got, tt.want)
			}
		})
	}
}
