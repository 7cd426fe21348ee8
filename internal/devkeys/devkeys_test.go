package devkeys

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"

	"github.com/promisekit/promisekit/pkg/sealing"
)

func TestGenerate(t *testing.T) {
	dir := t.TempDir()
	k, err := Generate(filepath.Join(dir, "keys"), Options{Bits: 2048})
	if err != nil {
		t.Fatal(err)
	}

	// The sealing pair matches, and the certificate is valid from well in
	// the past, so that runs with an earlier clock accept it.
	cert, err := sealing.LoadCertificate(k.CertificateFile, time.Now().Add(-300*24*time.Hour), k.CertificateSHA256)
	if err != nil {
		t.Fatal(err)
	}
	key, err := k.SealingKey()
	if err != nil {
		t.Fatal(err)
	}
	if !key.PublicKey.Equal(cert.Key) {
		t.Error("the private key does not belong to the certificate")
	}

	// The signing key belongs to the account, which the operator signed.
	op, acct := readJWT(t, k.OperatorJWTFile), readJWT(t, k.AccountJWTFile)
	oc, err := jwt.DecodeOperatorClaims(op)
	if err != nil {
		t.Fatal(err)
	}
	ac, err := jwt.DecodeAccountClaims(acct)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := os.ReadFile(k.SigningKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := nkeys.FromSeed([]byte(strings.TrimSpace(string(seed))))
	if err != nil {
		t.Fatal(err)
	}
	signerPub, _ := signer.PublicKey()
	switch {
	case ac.Issuer != oc.Subject:
		t.Errorf("account issued by %s, not the operator %s", ac.Issuer, oc.Subject)
	case !ac.SigningKeys.Contains(signerPub) || k.SigningKeyPublicKey != signerPub:
		t.Errorf("signing key %s is not the account's", signerPub)
	case k.AccountPublicKey != ac.Subject:
		t.Errorf("account public key %s, want %s", k.AccountPublicKey, ac.Subject)
	}

	// Secrets are readable by their owner only.
	for _, f := range []string{k.PrivateKeyFile, k.SigningKeyFile} {
		info, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v", f, info.Mode().Perm())
		}
	}
	config, err := os.ReadFile(k.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{k.CertificateFile, k.CertificateSHA256, k.SigningKeyFile, k.AccountPublicKey} {
		if !strings.Contains(string(config), want) {
			t.Errorf("configuration lacks %s", want)
		}
	}
	if got := k.Env()["PROMISEKIT_CONFIG"]; got != k.ConfigFile || !filepath.IsAbs(got) {
		t.Errorf("env %v", k.Env())
	}

	// A second call reuses the set; Force replaces it.
	again, err := Generate(filepath.Join(dir, "keys"), Options{Bits: 2048})
	if err != nil || again.CertificateSHA256 != k.CertificateSHA256 || again.AccountPublicKey != k.AccountPublicKey {
		t.Fatalf("reuse: %+v, %v", again, err)
	}
	forced, err := Generate(filepath.Join(dir, "keys"), Options{Bits: 2048, Force: true})
	if err != nil || forced.CertificateSHA256 == k.CertificateSHA256 || forced.AccountPublicKey == k.AccountPublicKey {
		t.Fatalf("force: %+v, %v", forced, err)
	}

	// A damaged set is not silently replaced.
	if err := os.WriteFile(k.CertificateFile, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(filepath.Join(dir, "keys"), Options{Bits: 2048}); err == nil || !strings.Contains(err.Error(), "-force") {
		t.Fatalf("damaged set: %v", err)
	}
}

func readJWT(t *testing.T, file string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}
