package leakcheck

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"
)

// Every secret below is generated here: none may sit in a tracked file.

func seed(t *testing.T, create func() (nkeys.KeyPair, error)) string {
	t.Helper()
	kp, err := create()
	if err != nil {
		t.Fatal(err)
	}
	s, err := kp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	return string(s)
}

func userJWT(t *testing.T) (token, creds string) {
	t.Helper()
	account, _ := nkeys.CreateAccount()
	user, _ := nkeys.CreateUser()
	pub, _ := user.PublicKey()
	token, err := jwt.NewUserClaims(pub).Encode(account)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := user.Seed()
	c, err := jwt.FormatUserConfig(token, s)
	if err != nil {
		t.Fatal(err)
	}
	return token, string(c)
}

func accountJWT(t *testing.T) string {
	t.Helper()
	operator, _ := nkeys.CreateOperator()
	account, _ := nkeys.CreateAccount()
	pub, _ := account.PublicKey()
	token, err := jwt.NewAccountClaims(pub).Encode(operator)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func pemKey(t *testing.T, typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func TestBytes(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, _ := x509.MarshalECPrivateKey(ecKey)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	token, creds := userJWT(t)
	accountPub, _ := func() (string, error) { kp, _ := nkeys.CreateAccount(); return kp.PublicKey() }()
	awsSecret := base64.StdEncoding.EncodeToString(randomBytes(t, 30)) // 40 characters, as AWS makes them
	pat := "uat_" + strings.Repeat("Ab3", 20)

	tests := []struct {
		name string
		data string
		want []string // kinds, in order; nil for clean
	}{
		{"user seed", "seed: " + seed(t, nkeys.CreateUser), []string{"NATS user seed"}},
		{"account seed", seed(t, nkeys.CreateAccount), []string{"NATS account seed"}},
		{"operator seed in YAML", "key: \"" + seed(t, nkeys.CreateOperator) + "\"\n", []string{"NATS operator seed"}},
		{"user JWT", "jwt: " + token, []string{"NATS user JWT"}},
		{"credentials file", creds, []string{"NATS credentials file", "NATS user JWT", "NATS credentials file", "NATS user seed"}},
		{"credentials in base64, as in a Secret", "user.creds: " + base64.StdEncoding.EncodeToString([]byte(creds)), []string{"NATS credentials file (base64)", "NATS user JWT (base64)", "NATS user seed (base64)"}},
		{"account JWT is still a JWT", accountJWT(t), []string{"NATS account JWT"}},
		{"Synadia token", "token=" + pat, []string{"Synadia access token"}},
		{"bearer header", "Authorization: Bearer abcdefghijklmnopqrstuvwx", []string{"bearer token"}},
		{"RSA private key", pemKey(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), []string{"PEM private key"}},
		{"EC private key", pemKey(t, "EC PRIVATE KEY", ecDER), []string{"PEM private key"}},
		{"PKCS#8 private key", pemKey(t, "PRIVATE KEY", pkcs8), []string{"PEM private key"}},
		{"AWS secret key in an env file", "AWS_SECRET_ACCESS_KEY=" + awsSecret, []string{"AWS secret access key"}},
		{"AWS secret key in JSON", `{"SecretAccessKey": "` + awsSecret + `"}`, []string{"AWS secret access key"}},
		{"public keys are not secret", "user: " + accountPub + "\nkeyFingerprint: SHA256:FPeDX2+jmaf6zXpxRygHUQLF9s9HaZiswFDMmRmJvvE", nil},
		{"a certificate is not secret", pemKey(t, "CERTIFICATE", []byte("not really a certificate")), nil},
		{"sealed ciphertext is not secret", "user.creds: Ag" + base64.StdEncoding.EncodeToString(randomBytes(t, 600)), nil},
		{"a NATS subject is not a token", "allow: [\"orders.>\", \"_INBOX.>\"]", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Scanner
			found := s.Bytes("f", []byte(tt.data))
			var kinds []string
			for _, f := range found {
				kinds = append(kinds, f.Kind)
			}
			if strings.Join(kinds, "|") != strings.Join(tt.want, "|") {
				t.Errorf("found %q, want %q", kinds, tt.want)
			}
		})
	}
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestKnown(t *testing.T) {
	s := Scanner{Known: map[string][]byte{"the test's password": []byte("hunter2-but-longer")}}
	found := s.Bytes("log", []byte("x hunter2-but-longer y hunter2-but-longer"))
	if len(found) != 2 || found[0].Kind != "the test's password" || found[1].Offset != 23 {
		t.Fatalf("found %v", found)
	}
	if found := s.Bytes("log", []byte(base64.StdEncoding.EncodeToString([]byte(strings.Repeat("hunter2-but-longer ", 4))))); len(found) == 0 {
		t.Error("missed a known value in base64")
	}
}

func TestTree(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"clean.yaml":   "kind: ConfigMap\n",
		"a/b/sec.yaml": "seed: " + seed(t, nkeys.CreateUser) + "\n",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var s Scanner
	found, err := s.Tree(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].Where != "a/b/sec.yaml" || found[0].Offset != 6 {
		t.Fatalf("found %v", found)
	}
	if _, err := s.Tree(filepath.Join(dir, "missing")); err == nil {
		t.Error("scanning a missing directory succeeded")
	}
}
