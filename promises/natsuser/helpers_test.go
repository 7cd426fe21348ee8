package natsuser

import (
	"bytes"
	"context"
	"crypto/rsa"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bitnami-labs/sealed-secrets/pkg/apis/sealedsecrets/v1alpha1"
	"github.com/bitnami-labs/sealed-secrets/pkg/crypto"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/devkeys"
	"github.com/promisekit/promisekit/internal/kratixsim"
	"github.com/promisekit/promisekit/internal/leakcheck"
	"github.com/promisekit/promisekit/internal/stagetest"
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/overlays/pass"
	"github.com/promisekit/promisekit/promises/natsuser/internal/fakesynadia"
	"github.com/promisekit/promisekit/promises/natsuser/internal/natstest"
)

var workflow = kratixsim.Workflow{Type: "resource", Promise: "natsuser", Pipeline: "natsuser", Plural: "natsusers"}

// newRequest returns a NATSUser in namespace team-orders with the given spec.
func newRequest(name, spec string) []byte {
	return []byte(fmt.Sprintf(`apiVersion: nats.promisekit.dev/v1alpha1
kind: NATSUser
metadata:
  name: %s
  namespace: team-orders
  uid: 6c0f5b1e-3f59-4a43-9d1c-0d4c1f1e2a10
  generation: 1
spec:
%s`, name, indent(spec)))
}

func indent(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n") + "\n"
}

const ordersSpec = `
publish:
  allow: ["orders.events.>"]
subscribe:
  allow: ["orders.>", "_INBOX.>"]
  deny: ["orders.secret.>"]
`

// keysDir holds the devkeys set the tests share: RSA keys are slow to make.
var keysDir string

var sharedKeys = sync.OnceValues(func() (*devkeys.Keys, error) {
	dir, err := os.MkdirTemp("", "natsuser-keys-")
	if err != nil {
		return nil, err
	}
	keysDir = dir
	return devkeys.Generate(dir, devkeys.Options{Bits: 2048})
})

// testKeys returns the shared devkeys set: a sealing key pair and a NATS
// operator and account.
func testKeys(t testing.TB) *devkeys.Keys {
	t.Helper()
	k, err := sharedKeys()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestMain(m *testing.M) {
	code := m.Run()
	api.Close()
	if keysDir != "" {
		os.RemoveAll(keysDir)
	}
	os.Exit(code)
}

// selfHostedEnv is a self-hosted account (the embedded default backend)
// served by a nats-server that trusts it.
type selfHostedEnv struct {
	keys *devkeys.Keys
	nats *natstest.Server
}

func newSelfHosted(t testing.TB) *selfHostedEnv {
	k := testKeys(t)
	op, err := os.ReadFile(k.OperatorJWTFile)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := os.ReadFile(k.AccountJWTFile)
	if err != nil {
		t.Fatal(err)
	}
	return &selfHostedEnv{keys: k, nats: natstest.Start(t, strings.TrimSpace(string(op)), strings.TrimSpace(string(acct)))}
}

func (e *selfHostedEnv) harness(t testing.TB, name, spec string) *stagetest.Harness {
	h := stagetest.New(t, "natsuser", Workflows(Outside{Overlays: pass.Run}), workflow, newRequest(name, spec))
	h.Env = e.keys.Env()
	// nats-server checks expiry against the wall clock.
	h.Now = time.Now().UTC().Truncate(time.Second)
	return h
}

// cloudEnv is a Synadia Cloud account in the fake, whose operator a
// nats-server trusts and whose revocations reach it.
type cloudEnv struct {
	fake    *fakesynadia.Server
	account fakesynadia.Account
	nats    *natstest.Server
	config  string // PROMISEKIT_CONFIG
	clock   clock  // the fake's, moved with the stage's
}

// cloudConfig is the platform configuration of the tests: small waits so
// that retries are quick, and a per-attempt limit the fake can exceed.
const cloudConfig = `
sealing:
  certificate: %s
accounts:
  default:
    natsURL: tls://connect.ngs.global
    synadia:
      accountID: %s
      signingKeyGroup: Default
synadia:
  url: %s
  tokenFile: %s
  attemptTimeout: 400ms
  backoffInitial: 10ms
  backoffMax: 40ms
  timeout: 30s
`

func newCloud(t testing.TB) *cloudEnv {
	t.Helper()
	e := newCloudWithoutNATS(t)
	e.nats = natstest.Start(t, e.fake.OperatorJWT(), e.account.JWT)
	return e
}

// newCloudWithoutNATS is newCloud for tests that never connect.
func newCloudWithoutNATS(t testing.TB) *cloudEnv {
	t.Helper()
	e := &cloudEnv{}
	e.clock.set(time.Now().UTC().Truncate(time.Second))
	var err error
	e.fake, err = fakesynadia.Start(fakesynadia.Options{
		Clock: e.clock.now,
		OnAccountUpdate: func(_, accountJWT string) {
			if e.nats == nil {
				return
			}
			if err := e.nats.UpdateAccount(accountJWT); err != nil {
				t.Errorf("applying account JWT: %v", err)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.fake.Close)
	if e.account, err = e.fake.AddAccount("orders"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(e.fake.Token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.config = filepath.Join(dir, "config.yaml")
	cfg := fmt.Sprintf(cloudConfig, testKeys(t).CertificateFile, e.account.ID, e.fake.URL, tokenFile)
	if err := os.WriteFile(e.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *cloudEnv) harness(t testing.TB, name, spec string) *stagetest.Harness {
	h := stagetest.New(t, "natsuser", Workflows(Outside{Overlays: pass.Run}), workflow, newRequest(name, spec))
	h.Env["PROMISEKIT_CONFIG"] = e.config
	h.Now = e.clock.now()
	return h
}

// setNow moves both the stage's and the fake's clock.
func (e *cloudEnv) setNow(h *stagetest.Harness, now time.Time) {
	e.clock.set(now)
	h.Now = now
}

// clock is a time that the test sets and the fake's handlers read.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// users returns the fake's users named after the request.
func (e *cloudEnv) users(name string) []fakesynadia.UserInfo {
	var out []fakesynadia.UserInfo
	for _, u := range e.fake.Users(e.account.ID) {
		if u.Name == "kratix.team-orders."+name {
			out = append(out, u)
		}
	}
	return out
}

// configure runs configure and fails the test unless it succeeded.
func configure(t testing.TB, h *stagetest.Harness) *stagetest.Outcome {
	t.Helper()
	out := h.Configure(context.Background())
	if out.Err != nil {
		t.Fatalf("configure: %v", out.Err)
	}
	checkNoLeaks(t, out)
	return out
}

// sealedSecret returns the one output file, which must be the SealedSecret.
func sealedSecret(t *testing.T, out *stagetest.Outcome) []byte {
	t.Helper()
	if len(out.Files) != 1 {
		t.Fatalf("output has %d files, want the SealedSecret alone: %v", len(out.Files), keys(out.Files))
	}
	for name, data := range out.Files {
		if !strings.HasPrefix(name, "sealedsecret_") {
			t.Fatalf("output file %s is not a SealedSecret", name)
		}
		return data
	}
	return nil
}

func keys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// unseal decrypts a SealedSecret with sealed-secrets' own code, as its
// controller does, and returns the Secret's data.
func unseal(t *testing.T, manifest []byte, key *rsa.PrivateKey) map[string][]byte {
	t.Helper()
	var ss v1alpha1.SealedSecret
	if err := yaml.UnmarshalStrict(manifest, &ss); err != nil {
		t.Fatalf("parsing SealedSecret: %v", err)
	}
	fp, err := crypto.PublicKeyFingerprint(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := ss.Unseal(scheme.Codecs, map[string]*rsa.PrivateKey{fp: key})
	if err != nil {
		t.Fatalf("unsealing: %v", err)
	}
	return secret.Data
}

// credsOf unseals the credentials of an outcome.
func credsOf(t *testing.T, out *stagetest.Outcome, k *devkeys.Keys) []byte {
	t.Helper()
	key, err := k.SealingKey()
	if err != nil {
		t.Fatal(err)
	}
	data := unseal(t, sealedSecret(t, out), key)
	creds, ok := data[DefaultSecretKey]
	if !ok || len(data) != 1 {
		t.Fatalf("Secret keys %v, want only %s", keys(data), DefaultSecretKey)
	}
	return creds
}

// checkNoLeaks scans everything a run wrote for credentials.
func checkNoLeaks(t testing.TB, out *stagetest.Outcome) {
	t.Helper()
	var s leakcheck.Scanner
	for name, data := range out.Files {
		s.Check(t, "output/"+name, data)
	}
	s.Check(t, "status.yaml", out.StatusYAML)
	if out.Err != nil {
		s.Check(t, "error", []byte(out.Err.Error()))
	}
}

// storedState returns the stored state after the harness's last run.
func storedState(t testing.TB, h *stagetest.Harness) record {
	t.Helper()
	data, err := yaml.Marshal(h.Object)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := kratix.ParseObject(data)
	if err != nil {
		t.Fatal(err)
	}
	r, found, err := stateCodec.Load(obj)
	if err != nil || !found {
		t.Fatalf("stored state: found %v, %v", found, err)
	}
	return r
}

func sameBytes(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// loadConfig reads the platform configuration at path as the stage does.
func loadConfig(path string) (*Config, error) {
	return New(Outside{}).Config.Load(path)
}

// decodeRequest decodes obj's spec strictly and validates it, as a
// configure run does before it loads anything else.
func decodeRequest(obj *kratix.Object) (*request, error) {
	var spec Spec
	if err := obj.DecodeSpec(&spec); err != nil {
		return nil, err
	}
	return validateSpec(&spec, obj.Metadata.Name)
}
