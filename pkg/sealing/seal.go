package sealing

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/bitnami-labs/sealed-secrets/pkg/crypto"

	"github.com/promisekit/promisekit/pkg/k8sname"
)

// Scope is what a SealedSecret may be renamed to without breaking its
// ciphertext, as the sealed-secrets controller defines it.
type Scope string

const (
	// Strict binds the ciphertext to the Secret's namespace and name.
	Strict Scope = "strict"
	// NamespaceWide binds it to the namespace only.
	NamespaceWide Scope = "namespace-wide"
	// ClusterWide binds it to nothing.
	ClusterWide Scope = "cluster-wide"
)

// ParseScope accepts the three scope names; "" means Strict.
func ParseScope(s string) (Scope, error) {
	switch Scope(s) {
	case "", Strict:
		return Strict, nil
	case NamespaceWide, ClusterWide:
		return Scope(s), nil
	}
	return "", fmt.Errorf("unknown sealing scope %q (want strict, namespace-wide or cluster-wide)", s)
}

// label is the OAEP label the controller checks at unseal
// (v1alpha1.EncryptionLabel): "<ns>/<name>", "<ns>" or "".
func (s Scope) label(namespace, name string) []byte {
	switch s {
	case ClusterWide:
		return nil
	case NamespaceWide:
		return []byte(namespace)
	}
	return []byte(namespace + "/" + name)
}

// Target is the Secret a SealedSecret unseals into.
type Target struct {
	Namespace string
	Name      string
	Scope     Scope
}

// Record is sealed data and what it is bound to. It holds no plaintext and
// is meant to be kept in a stage's state, so that later runs can re-emit the
// same SealedSecret byte for byte.
type Record struct {
	// KeyFingerprint is the sealing key's (Certificate.KeyFingerprint).
	KeyFingerprint string            `json:"keyFingerprint"`
	Namespace      string            `json:"namespace"`
	Name           string            `json:"name"`
	Scope          Scope             `json:"scope"`
	EncryptedData  map[string]string `json:"encryptedData"`
}

// Fits reports whether r can be re-emitted for t: it holds data sealed for
// the same Secret and scope. When it does not, the plaintext must be sealed
// again.
//
// The key r was sealed with is not part of it: the controller keeps every
// key it renews and decrypts with all of them, so a newer certificate is no
// reason to seal again. Only a key the platform retired is (KeyRetired).
func (r Record) Fits(t Target) bool {
	return len(r.EncryptedData) > 0 &&
		r.Namespace == t.Namespace && r.Name == t.Name && r.Scope == t.Scope
}

// KeyRetired reports whether r was sealed with one of the retired keys,
// given as key fingerprints (Certificate.KeyFingerprint). A Record that
// does not say which key sealed it counts as retired: it cannot be told
// apart from one that was.
func (r Record) KeyRetired(retired []string) bool {
	return r.KeyFingerprint == "" || slices.Contains(retired, r.KeyFingerprint)
}

// Seal encrypts every entry of data for t. rnd is crypto/rand.Reader outside
// tests. Empty data is refused: a SealedSecret with empty encryptedData
// would leave a patched Secret empty if it were ever recreated.
func Seal(rnd io.Reader, cert *Certificate, t Target, data map[string][]byte) (Record, error) {
	if len(data) == 0 {
		return Record{}, errors.New("sealing: no data to seal")
	}
	if err := t.validate(); err != nil {
		return Record{}, err
	}
	label := t.Scope.label(t.Namespace, t.Name)
	enc := make(map[string]string, len(data))
	for _, k := range slices.Sorted(maps.Keys(data)) {
		if !k8sname.IsConfigMapKey(k) {
			return Record{}, fmt.Errorf("sealing: %q is not a valid Secret key", k)
		}
		ct, err := crypto.HybridEncrypt(rnd, cert.Key, data[k], label)
		if err != nil {
			return Record{}, fmt.Errorf("sealing key %q: %w", k, err)
		}
		enc[k] = base64.StdEncoding.EncodeToString(ct)
	}
	return Record{
		KeyFingerprint: cert.KeyFingerprint,
		Namespace:      t.Namespace,
		Name:           t.Name,
		Scope:          t.Scope,
		EncryptedData:  enc,
	}, nil
}

func (t Target) validate() error {
	if t.Name == "" || t.Namespace == "" {
		return errors.New("sealing: the Secret's name and namespace are required")
	}
	if _, err := ParseScope(string(t.Scope)); err != nil || t.Scope == "" {
		return fmt.Errorf("sealing: unknown scope %q", t.Scope)
	}
	return nil
}
