package sealing

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeyFingerprintFormat says what a key fingerprint looks like, for
// messages.
const KeyFingerprintFormat = `"SHA256:" and 43 characters of unpadded base64, as ssh-keygen -l prints the key`

// CheckKeyFingerprint checks that s is a key fingerprint in the form
// Certificate.KeyFingerprint and Record.KeyFingerprint hold: "SHA256:"
// followed by the unpadded standard base64 of a SHA-256 digest, exactly as
// crypto.PublicKeyFingerprint writes it. Nothing is normalised, because
// fingerprints are compared as strings.
func CheckKeyFingerprint(s string) error {
	if b64, ok := strings.CutPrefix(s, "SHA256:"); ok {
		if sum, err := base64.RawStdEncoding.Strict().DecodeString(b64); err == nil && len(sum) == sha256.Size {
			return nil
		}
	}
	msg := fmt.Sprintf("%q is not a key fingerprint: want %s", s, KeyFingerprintFormat)
	if h := strings.ReplaceAll(s, ":", ""); len(h) == hex.EncodedLen(sha256.Size) {
		if _, err := hex.DecodeString(h); err == nil {
			// What a pin holds: it changes when a certificate is renewed
			// for the same key, and names no key.
			msg += " (64 hex digits are a certificate's SHA-256, not its key's fingerprint)"
		}
	}
	return errors.New(msg)
}
