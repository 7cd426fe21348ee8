// Package sealing produces SealedSecret manifests for the sealed-secrets
// controller without a cluster: it encrypts with the controller's public
// certificate using sealed-secrets' own pkg/crypto, the only part of that
// module a pipeline binary needs (its API types would pull in client-go).
//
// Sealing is randomised, so sealing the same Secret twice gives different
// bytes, and Kratix commits every byte change to git. Seal therefore returns
// a Record (the ciphertext and what it is bound to) that the caller keeps in
// its state; Manifest re-emits a byte-identical SealedSecret from a Record
// without the plaintext. A caller seals only when the plaintext is new, the
// Record no longer fits its Secret (Record.Fits) or the key that sealed it
// was retired (Record.KeyRetired). A new certificate alone is no reason:
// the controller keeps its earlier keys and decrypts with all of them.
package sealing

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/bitnami-labs/sealed-secrets/pkg/crypto"
)

// MinKeyBits is the smallest RSA key accepted. The controller generates
// 4096-bit keys; 2048 is the least that is still considered safe.
const MinKeyBits = 2048

// Certificate is a validated sealed-secrets controller certificate.
type Certificate struct {
	Key *rsa.PublicKey
	// KeyFingerprint identifies the key pair the way the controller does
	// (crypto.PublicKeyFingerprint: "SHA256:" and unpadded base64, as
	// ssh-keygen -l prints the key; see CheckKeyFingerprint). A renewed
	// certificate for the same key keeps it.
	KeyFingerprint string
	// SHA256 is the certificate's fingerprint as `openssl x509 -fingerprint
	// -sha256` prints it, without colons, in lower case.
	SHA256    string
	NotBefore time.Time
	NotAfter  time.Time
}

// LoadCertificate reads and validates the certificate at path (usually a
// mounted ConfigMap holding the controller's /v1/cert.pem).
func LoadCertificate(path string, now time.Time, pin string) (*Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading sealing certificate: %w", err)
	}
	c, err := ParseCertificate(data, now, pin)
	if err != nil {
		return nil, fmt.Errorf("sealing certificate %s: %w", path, err)
	}
	return c, nil
}

// ParseCertificate validates a PEM certificate for sealing at time now: an
// RSA key of at least MinKeyBits, now inside its validity window, and, when
// pin is not empty, a SHA-256 fingerprint equal to pin (colons and case are
// ignored). The chain is not verified: the controller's certificate is
// self-signed and marked for encipherment only, so x509.Verify would reject
// every genuine one.
func ParseCertificate(pemData []byte, now time.Time, pin string) (*Certificate, error) {
	var block *pem.Block
	for rest := pemData; ; {
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no PEM CERTIFICATE block found")
		}
		if block.Type == "CERTIFICATE" {
			break
		}
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing certificate: %w", err)
	}
	key, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key is %T, sealed-secrets needs RSA", cert.PublicKey)
	}
	if bits := key.N.BitLen(); bits < MinKeyBits {
		return nil, fmt.Errorf("RSA key has %d bits, at least %d are required", bits, MinKeyBits)
	}
	if now.Before(cert.NotBefore) {
		return nil, fmt.Errorf("not valid before %s", cert.NotBefore.UTC().Format(time.RFC3339))
	}
	if now.After(cert.NotAfter) {
		return nil, fmt.Errorf("expired at %s", cert.NotAfter.UTC().Format(time.RFC3339))
	}
	sum := sha256.Sum256(cert.Raw)
	c := &Certificate{
		Key:       key,
		SHA256:    hex.EncodeToString(sum[:]),
		NotBefore: cert.NotBefore,
		NotAfter:  cert.NotAfter,
	}
	if pin != "" {
		want := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(pin), ":", ""))
		if want != c.SHA256 {
			return nil, fmt.Errorf("SHA-256 fingerprint %s does not match the pinned %s", c.SHA256, want)
		}
	}
	if c.KeyFingerprint, err = crypto.PublicKeyFingerprint(key); err != nil {
		return nil, fmt.Errorf("fingerprinting key: %w", err)
	}
	return c, nil
}
