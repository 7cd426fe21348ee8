package sealing

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	ssv1alpha1 "github.com/bitnami-labs/sealed-secrets/pkg/apis/sealedsecrets/v1alpha1"
	"github.com/bitnami-labs/sealed-secrets/pkg/crypto"
	"github.com/promisekit/promisekit/pkg/k8sname"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// testPair is a controller key pair generated for the test binary.
type testPair struct {
	priv *rsa.PrivateKey
	x509 *x509.Certificate
	pem  []byte
	cert *Certificate
}

var (
	pairsMu sync.Mutex
	pairs   = map[int]*testPair{}
)

// pair returns the key pair of the given size, generating it once per test
// binary with sealed-secrets' own generator.
func pair(t testing.TB, bits int) *testPair {
	t.Helper()
	pairsMu.Lock()
	defer pairsMu.Unlock()
	if p := pairs[bits]; p != nil {
		return p
	}
	priv, c, err := crypto.GeneratePrivateKeyAndCert(bits, time.Hour, "sealing-test")
	if err != nil {
		t.Fatalf("generating %d-bit key: %v", bits, err)
	}
	p := &testPair{priv: priv, x509: c, pem: certPEM(c)}
	if p.cert, err = ParseCertificate(p.pem, c.NotBefore, ""); err != nil {
		t.Fatalf("parsing generated certificate: %v", err)
	}
	pairs[bits] = p
	return p
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// decodeStrict decodes a manifest into sealed-secrets' own type, refusing
// any field the CRD type does not know.
func decodeStrict(t *testing.T, y []byte) *ssv1alpha1.SealedSecret {
	t.Helper()
	var ss ssv1alpha1.SealedSecret
	if err := yaml.UnmarshalStrict(y, &ss); err != nil {
		t.Fatalf("strict decode into v1alpha1.SealedSecret: %v\n%s", err, y)
	}
	return &ss
}

// scopesOf is the scope the controller reads from the top-level metadata
// (which picks the decryption label) and from the template.
func scopesOf(ss *ssv1alpha1.SealedSecret) (top, tmpl string) {
	a, b := ssv1alpha1.SecretScope(&ss.ObjectMeta), ss.Scope()
	return a.String(), b.String()
}

// unseal decrypts with the controller's own code path.
func unseal(t *testing.T, ss *ssv1alpha1.SealedSecret, priv *rsa.PrivateKey) (*corev1.Secret, error) {
	t.Helper()
	fp, err := crypto.PublicKeyFingerprint(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return ss.Unseal(scheme.Codecs, map[string]*rsa.PrivateKey{fp: priv})
}

// sealYAML seals data for target and returns the marshalled manifest.
func sealYAML(t *testing.T, p *testPair, target Target, data map[string][]byte, tmpl Template) (Record, []byte) {
	t.Helper()
	rec, err := Seal(rand.Reader, p.cert, target, data)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	m, err := Manifest(rec, tmpl)
	if err != nil {
		t.Fatalf("Manifest: %v", err)
	}
	y, err := yaml.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return rec, y
}

func TestSealUnsealRoundTrip(t *testing.T) {
	data := map[string][]byte{
		"password": []byte("hunter2"),
		"tls.crt":  []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
		"binary":   {0, 1, 2, 0xff, 0xfe},
		"empty":    {},
		".dotfile": []byte("x"),
	}
	tmpl := Template{
		Type:        "kubernetes.io/basic-auth",
		Labels:      map[string]string{"app.kubernetes.io/name": "db", "tier": "data"},
		Annotations: map[string]string{"example.com/owner": "team-a"},
	}
	tests := []struct {
		name      string
		bits      int
		scope     Scope
		wantAnnos map[string]string // scope annotations expected on the Secret
		prefix    string            // base64 prefix of every ciphertext
	}{
		{"strict", 2048, Strict, nil, "AQ"},
		{"namespace-wide", 2048, NamespaceWide, map[string]string{NamespaceWideAnnotation: "true"}, "AQ"},
		{"cluster-wide", 2048, ClusterWide, map[string]string{ClusterWideAnnotation: "true"}, "AQ"},
		{"strict 4096", 4096, Strict, nil, "Ag"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := pair(t, tc.bits)
			target := Target{Namespace: "team-a", Name: "db-credentials", Scope: tc.scope}
			rec, y := sealYAML(t, p, target, data, tmpl)
			for k, v := range rec.EncryptedData {
				if !strings.HasPrefix(v, tc.prefix) {
					t.Errorf("ciphertext of %q starts %.4s, want %s for %d bits", k, v, tc.prefix, tc.bits)
				}
			}
			ss := decodeStrict(t, y)
			if top, tmpl := scopesOf(ss); top != string(tc.scope) || tmpl != string(tc.scope) {
				t.Errorf("controller reads scope %q (metadata), %q (template), want %q", top, tmpl, tc.scope)
			}
			sec, err := unseal(t, ss, p.priv)
			if err != nil {
				t.Fatalf("Unseal: %v\n%s", err, y)
			}
			if sec.Namespace != "team-a" || sec.Name != "db-credentials" {
				t.Errorf("Secret is %s/%s", sec.Namespace, sec.Name)
			}
			if !sameData(sec.Data, data) {
				t.Errorf("Data = %q, want %q", sec.Data, data)
			}
			if sec.Type != corev1.SecretType(tmpl.Type) {
				t.Errorf("Type = %q, want %q", sec.Type, tmpl.Type)
			}
			if !reflect.DeepEqual(sec.Labels, tmpl.Labels) {
				t.Errorf("Labels = %v, want %v", sec.Labels, tmpl.Labels)
			}
			wantAnnos := map[string]string{PatchAnnotation: "true", "example.com/owner": "team-a"}
			for k, v := range tc.wantAnnos {
				wantAnnos[k] = v
			}
			if !reflect.DeepEqual(sec.Annotations, wantAnnos) {
				t.Errorf("Annotations = %v, want %v", sec.Annotations, wantAnnos)
			}
			if sec.Annotations[ssv1alpha1.SealedSecretPatchAnnotation] != "true" {
				t.Errorf("Secret lacks %s", ssv1alpha1.SealedSecretPatchAnnotation)
			}
		})
	}
}

// TestAnnotationConstants pins the annotation names to sealed-secrets' own.
func TestAnnotationConstants(t *testing.T) {
	for _, c := range []struct{ ours, theirs string }{
		{PatchAnnotation, ssv1alpha1.SealedSecretPatchAnnotation},
		{NamespaceWideAnnotation, ssv1alpha1.SealedSecretNamespaceWideAnnotation},
		{ClusterWideAnnotation, ssv1alpha1.SealedSecretClusterWideAnnotation},
	} {
		if c.ours != c.theirs {
			t.Errorf("%q != sealed-secrets' %q", c.ours, c.theirs)
		}
	}
}

// TestScopeLabel checks the OAEP label against the controller's
// EncryptionLabel for each scope.
func TestScopeLabel(t *testing.T) {
	for _, c := range []struct {
		ours   Scope
		theirs ssv1alpha1.SealingScope
	}{
		{Strict, ssv1alpha1.StrictScope},
		{NamespaceWide, ssv1alpha1.NamespaceWideScope},
		{ClusterWide, ssv1alpha1.ClusterWideScope},
	} {
		got := c.ours.label("ns", "name")
		want := ssv1alpha1.EncryptionLabel("ns", "name", c.theirs)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: label %q, controller uses %q", c.ours, got, want)
		}
	}
}

func TestUnsealAfterMove(t *testing.T) {
	p := pair(t, 2048)
	data := map[string][]byte{"token": []byte("s3cr3t")}
	tests := []struct {
		name          string
		scope         Scope
		toNS, toName  string
		wantUnsealErr bool
	}{
		{"strict unchanged", Strict, "team-a", "creds", false},
		{"strict renamed", Strict, "team-a", "other", true},
		{"strict moved namespace", Strict, "team-b", "creds", true},
		{"strict moved and renamed", Strict, "team-b", "other", true},
		{"namespace-wide renamed", NamespaceWide, "team-a", "other", false},
		{"namespace-wide moved namespace", NamespaceWide, "team-b", "creds", true},
		{"cluster-wide moved and renamed", ClusterWide, "team-b", "other", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, y := sealYAML(t, p, Target{Namespace: "team-a", Name: "creds", Scope: tc.scope}, data, Template{})
			ss := decodeStrict(t, y)
			ss.Namespace, ss.Name = tc.toNS, tc.toName
			ss.Spec.Template.Namespace, ss.Spec.Template.Name = tc.toNS, tc.toName
			sec, err := unseal(t, ss, p.priv)
			if tc.wantUnsealErr {
				if err == nil {
					t.Fatalf("Unseal as %s/%s succeeded, want a decryption error", tc.toNS, tc.toName)
				}
				if !strings.Contains(err.Error(), "decrypt") {
					t.Errorf("error %q does not mention decryption", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Unseal as %s/%s: %v", tc.toNS, tc.toName, err)
			}
			if sec.Namespace != tc.toNS || sec.Name != tc.toName || string(sec.Data["token"]) != "s3cr3t" {
				t.Errorf("unsealed %s/%s %q", sec.Namespace, sec.Name, sec.Data)
			}
		})
	}
}

// TestUnsealWrongKey: a Record sealed for one key pair does not open with
// another (here the 4096-bit one).
func TestUnsealWrongKey(t *testing.T) {
	p, other := pair(t, 2048), pair(t, 4096)
	_, y := sealYAML(t, p, Target{Namespace: "ns", Name: "n", Scope: ClusterWide}, map[string][]byte{"k": []byte("v")}, Template{})
	if _, err := unseal(t, decodeStrict(t, y), other.priv); err == nil {
		t.Fatal("unsealed with the wrong private key")
	}
}

// TestTemplateCannotOverrideScope: scope annotations in the Template would
// change the label the controller decrypts with; Manifest takes the scope
// from the Record only.
func TestTemplateCannotOverrideScope(t *testing.T) {
	p := pair(t, 2048)
	tests := []struct {
		scope Scope
		annos map[string]string
	}{
		{Strict, map[string]string{ClusterWideAnnotation: "true"}},
		{Strict, map[string]string{NamespaceWideAnnotation: "true"}},
		{NamespaceWide, map[string]string{ClusterWideAnnotation: "true"}},
		{ClusterWide, map[string]string{NamespaceWideAnnotation: "true", ClusterWideAnnotation: "false"}},
	}
	for _, tc := range tests {
		t.Run(string(tc.scope), func(t *testing.T) {
			_, y := sealYAML(t, p, Target{Namespace: "ns", Name: "n", Scope: tc.scope}, map[string][]byte{"k": []byte("v")},
				Template{Annotations: tc.annos})
			ss := decodeStrict(t, y)
			if top, tmpl := scopesOf(ss); top != string(tc.scope) || tmpl != string(tc.scope) {
				t.Errorf("controller reads scope %q (metadata), %q (template), want %q", top, tmpl, tc.scope)
			}
			if _, err := unseal(t, ss, p.priv); err != nil {
				t.Errorf("Unseal: %v", err)
			}
		})
	}
}

func TestParseCertificate(t *testing.T) {
	p := pair(t, 2048)
	nb, na := p.x509.NotBefore, p.x509.NotAfter
	sum := sha256.Sum256(p.x509.Raw)
	hexSum := hex.EncodeToString(sum[:])
	colonUpper := strings.ToUpper(strings.Join(splitPairs(hexSum), ":"))
	wrongPin := hexSum[:len(hexSum)-1] + string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", hexSum[len(hexSum)-1])+1)%16])

	small := newRSACert(t, 1024, nb, time.Hour)
	ec := newECDSACert(t, nb, time.Hour)
	other := []byte("-----BEGIN COMMENT-----\naGVsbG8=\n-----END COMMENT-----\n")

	tests := []struct {
		name    string
		pem     []byte
		now     time.Time
		pin     string
		wantErr string // substring; "" means success
	}{
		{"valid", p.pem, nb.Add(time.Minute), "", ""},
		{"valid at NotBefore", p.pem, nb, "", ""},
		{"valid at NotAfter", p.pem, na, "", ""},
		{"after another PEM block", append(append([]byte{}, other...), p.pem...), nb, "", ""},
		{"expired", p.pem, na.Add(time.Second), "", "expired at " + na.UTC().Format(time.RFC3339)},
		{"not yet valid", p.pem, nb.Add(-time.Second), "", "not valid before " + nb.UTC().Format(time.RFC3339)},
		{"1024-bit RSA", small, nb, "", "RSA key has 1024 bits, at least 2048 are required"},
		{"ECDSA", ec, nb, "", "public key is *ecdsa.PublicKey, sealed-secrets needs RSA"},
		{"not PEM", []byte("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"), nb, "", "no PEM CERTIFICATE block found"},
		{"empty", nil, nb, "", "no PEM CERTIFICATE block found"},
		{"PEM without a certificate", other, nb, "", "no PEM CERTIFICATE block found"},
		{"corrupt certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")}), nb, "", "parsing certificate"},
		{"pin lower case", p.pem, nb, hexSum, ""},
		{"pin with colons, upper case", p.pem, nb, colonUpper, ""},
		{"pin with surrounding space", p.pem, nb, " " + colonUpper + "\n", ""},
		{"pin mismatch", p.pem, nb, wrongPin, "does not match the pinned " + wrongPin},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCertificate(tc.pem, tc.now, tc.pin)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("accepted; want error containing %q", tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %q, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCertificate: %v", err)
			}
			wantFP, _ := crypto.PublicKeyFingerprint(&p.priv.PublicKey)
			if c.KeyFingerprint != wantFP {
				t.Errorf("KeyFingerprint %s, want %s", c.KeyFingerprint, wantFP)
			}
			if c.SHA256 != hexSum {
				t.Errorf("SHA256 %s, want %s", c.SHA256, hexSum)
			}
			if !c.NotBefore.Equal(nb) || !c.NotAfter.Equal(na) {
				t.Errorf("validity %s..%s, want %s..%s", c.NotBefore, c.NotAfter, nb, na)
			}
			if c.Key.N.Cmp(p.priv.N) != 0 {
				t.Error("Key is not the certificate's public key")
			}
		})
	}
}

// sameData compares Secret data, an empty value equal to a nil one.
func sameData(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}

func splitPairs(s string) []string {
	var out []string
	for i := 0; i < len(s); i += 2 {
		out = append(out, s[i:i+2])
	}
	return out
}

func newRSACert(t *testing.T, bits int, notBefore time.Time, validFor time.Duration) []byte {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	c, err := crypto.SignKeyWithNotBefore(rand.Reader, k, notBefore, validFor, "small")
	if err != nil {
		t.Fatal(err)
	}
	return certPEM(c)
}

func newECDSACert(t *testing.T, notBefore time.Time, validFor time.Duration) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "ecdsa"},
		NotBefore:    notBefore,
		NotAfter:     notBefore.Add(validFor),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestLoadCertificate(t *testing.T) {
	p := pair(t, 2048)
	dir := t.TempDir()
	good := filepath.Join(dir, "cert.pem")
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(good, p.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, wantErr string
	}{
		{"good", good, ""},
		{"missing", filepath.Join(dir, "missing.pem"), "reading sealing certificate"},
		{"bad content names the file", bad, "sealing certificate " + bad + ": no PEM CERTIFICATE block found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadCertificate(tc.path, p.x509.NotBefore, "")
			if tc.wantErr == "" {
				if err != nil || c.KeyFingerprint != p.cert.KeyFingerprint {
					t.Fatalf("LoadCertificate = %+v, %v", c, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

// TestManifestFromRecordIsStable: the Record, kept in state as JSON, re-emits
// byte-identical YAML every run; sealing the same plaintext again does not,
// which is why the Record is kept.
func TestManifestFromRecordIsStable(t *testing.T) {
	p := pair(t, 2048)
	target := Target{Namespace: "ns", Name: "creds", Scope: Strict}
	data := map[string][]byte{"a": []byte("1"), "b": []byte("2")}
	tmpl := Template{Labels: map[string]string{"l": "v"}, Annotations: map[string]string{"x": "y"}}
	rec, first := sealYAML(t, p, target, data, tmpl)

	stored, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		var back Record
		if err := json.Unmarshal(stored, &back); err != nil {
			t.Fatal(err)
		}
		if !back.Fits(target) || back.KeyRetired(nil) {
			t.Fatalf("run %d: stored Record no longer fits", i)
		}
		m, err := Manifest(back, tmpl)
		if err != nil {
			t.Fatal(err)
		}
		y, err := yaml.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(y, first) {
			t.Fatalf("run %d: manifest differs:\n%s\nvs\n%s", i, y, first)
		}
	}

	again, err := Seal(rand.Reader, p.cert, target, data)
	if err != nil {
		t.Fatal(err)
	}
	for k := range data {
		if again.EncryptedData[k] == rec.EncryptedData[k] {
			t.Errorf("re-sealing %q gave the same ciphertext; sealing should be randomised", k)
		}
	}
	_, y2 := sealYAML(t, p, target, data, tmpl)
	if bytes.Equal(y2, first) {
		t.Error("a fresh Seal gave byte-identical YAML")
	}
	sec, err := unseal(t, decodeStrict(t, y2), p.priv)
	if err != nil || !sameData(sec.Data, data) {
		t.Errorf("fresh seal unseals to %v, %v", sec, err)
	}
}

func TestManifestShape(t *testing.T) {
	rec := Record{KeyFingerprint: "fp", Namespace: "ns", Name: "n", Scope: Strict, EncryptedData: map[string]string{"k": "AQ=="}}
	tests := []struct {
		name      string
		scope     Scope
		tmpl      Template
		wantType  string
		wantAnnos map[string]string
	}{
		{"defaults", Strict, Template{}, "Opaque", map[string]string{PatchAnnotation: "true"}},
		{"patch cannot be turned off", Strict, Template{Annotations: map[string]string{PatchAnnotation: "false"}}, "Opaque",
			map[string]string{PatchAnnotation: "true"}},
		{"type kept", Strict, Template{Type: "kubernetes.io/tls"}, "kubernetes.io/tls", map[string]string{PatchAnnotation: "true"}},
		{"namespace-wide", NamespaceWide, Template{}, "Opaque", map[string]string{PatchAnnotation: "true", NamespaceWideAnnotation: "true"}},
		{"cluster-wide", ClusterWide, Template{Annotations: map[string]string{"a": "b"}}, "Opaque",
			map[string]string{PatchAnnotation: "true", ClusterWideAnnotation: "true", "a": "b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rec
			r.Scope = tc.scope
			m, err := Manifest(r, tc.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			if m.APIVersion != "bitnami.com/v1alpha1" || m.Kind != "SealedSecret" {
				t.Errorf("apiVersion/kind %s/%s", m.APIVersion, m.Kind)
			}
			if m.Spec.Template.Type != tc.wantType {
				t.Errorf("type %q, want %q", m.Spec.Template.Type, tc.wantType)
			}
			if !reflect.DeepEqual(m.Metadata.Annotations, tc.wantAnnos) {
				t.Errorf("annotations %v, want %v", m.Metadata.Annotations, tc.wantAnnos)
			}
			if !reflect.DeepEqual(m.Metadata, m.Spec.Template.Metadata) {
				t.Errorf("metadata %+v differs from template metadata %+v", m.Metadata, m.Spec.Template.Metadata)
			}
			if !reflect.DeepEqual(m.Spec.EncryptedData, rec.EncryptedData) {
				t.Errorf("encryptedData %v", m.Spec.EncryptedData)
			}
		})
	}
}

// TestManifestMapsIndependent: metadata, template metadata, the caller's
// Template and the Record share no map.
func TestManifestMapsIndependent(t *testing.T) {
	rec := Record{KeyFingerprint: "fp", Namespace: "ns", Name: "n", Scope: Strict, EncryptedData: map[string]string{"k": "AQ=="}}
	tmpl := Template{Labels: map[string]string{"l": "1"}, Annotations: map[string]string{"a": "1"}}
	m, err := Manifest(rec, tmpl)
	if err != nil {
		t.Fatal(err)
	}
	m.Metadata.Labels["l"] = "changed"
	m.Metadata.Labels["new"] = "x"
	m.Metadata.Annotations["a"] = "changed"
	if got := m.Spec.Template.Metadata.Labels; !reflect.DeepEqual(got, map[string]string{"l": "1"}) {
		t.Errorf("template labels follow metadata labels: %v", got)
	}
	if got := m.Spec.Template.Metadata.Annotations["a"]; got != "1" {
		t.Errorf("template annotations follow metadata annotations: a=%q", got)
	}
	m.Spec.Template.Metadata.Annotations["b"] = "x"
	if _, ok := m.Metadata.Annotations["b"]; ok {
		t.Error("metadata annotations follow template annotations")
	}
	if tmpl.Labels["l"] != "1" || len(tmpl.Labels) != 1 || tmpl.Annotations["a"] != "1" || len(tmpl.Annotations) != 1 {
		t.Errorf("caller's Template modified: %+v", tmpl)
	}
	m.Spec.EncryptedData["k"] = "changed"
	if rec.EncryptedData["k"] != "AQ==" {
		t.Error("manifest shares encryptedData with the Record")
	}
	tmpl.Labels["late"] = "x"
	if _, ok := m.Spec.Template.Metadata.Labels["late"]; ok {
		t.Error("manifest shares labels with the caller's Template")
	}
}

func TestManifestRefusesEmptyRecord(t *testing.T) {
	for name, r := range map[string]Record{
		"zero":                {},
		"empty encryptedData": {KeyFingerprint: "fp", Namespace: "ns", Name: "n", Scope: Strict, EncryptedData: map[string]string{}},
	} {
		t.Run(name, func(t *testing.T) {
			m, err := Manifest(r, Template{})
			if err == nil || m != nil {
				t.Fatalf("Manifest = %v, %v; want an error", m, err)
			}
			if !strings.Contains(err.Error(), "no encrypted data") {
				t.Errorf("error %q", err)
			}
		})
	}
}

func TestSealRefuses(t *testing.T) {
	p := pair(t, 2048)
	ok := Target{Namespace: "ns", Name: "n", Scope: Strict}
	one := map[string][]byte{"k": []byte("v")}
	tests := []struct {
		name    string
		target  Target
		data    map[string][]byte
		wantErr string
	}{
		{"nil data", ok, nil, "no data to seal"},
		{"empty data", ok, map[string][]byte{}, "no data to seal"},
		{"no name", Target{Namespace: "ns", Scope: Strict}, one, "name and namespace are required"},
		{"no namespace", Target{Name: "n", Scope: Strict}, one, "name and namespace are required"},
		{"empty scope", Target{Namespace: "ns", Name: "n"}, one, `unknown scope ""`},
		{"unknown scope", Target{Namespace: "ns", Name: "n", Scope: "global"}, one, `unknown scope "global"`},
		{"empty key", ok, map[string][]byte{"": []byte("v")}, `"" is not a valid Secret key`},
		{"slash in key", ok, map[string][]byte{"a/b": nil}, `"a/b" is not a valid Secret key`},
		{"space in key", ok, map[string][]byte{"a b": nil}, `"a b" is not a valid Secret key`},
		{"non-ASCII key", ok, map[string][]byte{"clé": nil}, `is not a valid Secret key`},
		{"dot key", ok, map[string][]byte{".": nil}, `"." is not a valid Secret key`},
		{"dot-dot key", ok, map[string][]byte{"..": nil}, `".." is not a valid Secret key`},
		{"dot-dot prefix", ok, map[string][]byte{"..data": nil}, `"..data" is not a valid Secret key`},
		{"254-char key", ok, map[string][]byte{strings.Repeat("k", 254): nil}, `is not a valid Secret key`},
		{"one bad key among good", ok, map[string][]byte{"good": nil, "bad/": nil}, `"bad/" is not a valid Secret key`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := Seal(rand.Reader, p.cert, tc.target, tc.data)
			if err == nil {
				t.Fatalf("Seal succeeded: %+v", rec)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q, want it to contain %q", err, tc.wantErr)
			}
			if rec.EncryptedData != nil {
				t.Errorf("partial Record returned: %+v", rec)
			}
		})
	}
}

// TestSecretKeyValidation checks the key rule against apimachinery's, which
// the API server applies to Secret data.
func TestSecretKeyValidation(t *testing.T) {
	keys := []string{
		"a", "A-b_c.d", ".dotfile", "a..b", "a.", "tls.crt", "ca.crt", "0", strings.Repeat("k", 253),
		"", ".", "..", "..a", "...", "a/b", `a\b`, "a b", "a:b", "é", strings.Repeat("k", 254), "a\n",
	}
	for _, k := range keys {
		want := len(validation.IsConfigMapKey(k)) == 0
		if got := k8sname.IsConfigMapKey(k); got != want {
			t.Errorf("k8sname.IsConfigMapKey(%q) = %v, apimachinery says %v", k, got, want)
		}
	}
}

func TestRecordFits(t *testing.T) {
	p, other := pair(t, 2048), pair(t, 4096)
	target := Target{Namespace: "ns", Name: "n", Scope: NamespaceWide}
	rec, err := Seal(rand.Reader, p.cert, target, map[string][]byte{"k": []byte("v")})
	if err != nil {
		t.Fatal(err)
	}
	// Sealed with another key: the controller decrypts with every key it
	// holds, so the key is not part of fitting (see KeyRetired).
	otherKey, err := Seal(rand.Reader, other.cert, target, map[string][]byte{"k": []byte("v")})
	if err != nil {
		t.Fatal(err)
	}
	empty := rec
	empty.EncryptedData = nil

	tests := []struct {
		name   string
		rec    Record
		target Target
		want   bool
	}{
		{"same", rec, target, true},
		{"sealed with another key", otherKey, target, true},
		{"other name", rec, Target{Namespace: "ns", Name: "m", Scope: NamespaceWide}, false},
		{"other namespace", rec, Target{Namespace: "other", Name: "n", Scope: NamespaceWide}, false},
		{"other scope", rec, Target{Namespace: "ns", Name: "n", Scope: Strict}, false},
		{"empty record", empty, target, false},
		{"zero record", Record{}, target, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rec.Fits(tc.target); got != tc.want {
				t.Errorf("Fits = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRecordKeyRetired(t *testing.T) {
	p, other := pair(t, 2048), pair(t, 4096)
	rec, err := Seal(rand.Reader, p.cert, Target{Namespace: "ns", Name: "n", Scope: Strict}, map[string][]byte{"k": []byte("v")})
	if err != nil {
		t.Fatal(err)
	}
	if rec.KeyFingerprint != p.cert.KeyFingerprint {
		t.Fatalf("Record names key %s, sealed with %s", rec.KeyFingerprint, p.cert.KeyFingerprint)
	}
	// A renewed certificate for the same key keeps the key fingerprint.
	renewed, err := crypto.SignKeyWithNotBefore(rand.Reader, p.priv, p.x509.NotBefore.Add(time.Minute), time.Hour, "renewed")
	if err != nil {
		t.Fatal(err)
	}
	renewedCert, err := ParseCertificate(certPEM(renewed), renewed.NotBefore, "")
	if err != nil {
		t.Fatal(err)
	}
	if renewedCert.SHA256 == p.cert.SHA256 || renewedCert.KeyFingerprint != p.cert.KeyFingerprint {
		t.Fatalf("renewed certificate: SHA-256 %s (was %s), key %s (was %s)", renewedCert.SHA256, p.cert.SHA256, renewedCert.KeyFingerprint, p.cert.KeyFingerprint)
	}
	unknown := rec
	unknown.KeyFingerprint = ""

	tests := []struct {
		name    string
		rec     Record
		retired []string
		want    bool
	}{
		{"nothing retired", rec, nil, false},
		{"another key retired", rec, []string{other.cert.KeyFingerprint}, false},
		{"its key retired", rec, []string{other.cert.KeyFingerprint, p.cert.KeyFingerprint}, true},
		{"its key retired, named by a renewed certificate", rec, []string{renewedCert.KeyFingerprint}, true},
		{"its certificate's SHA-256 is not its key", rec, []string{p.cert.SHA256}, false},
		{"key not recorded", unknown, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rec.KeyRetired(tc.retired); got != tc.want {
				t.Errorf("KeyRetired(%v) = %v, want %v", tc.retired, got, tc.want)
			}
		})
	}
}

// TestKeyRenewal: after the controller renews its key, what was sealed
// with the old key still fits and still opens, because the controller
// decrypts with every key it holds; what is sealed from then on uses the
// new key. Unseal is the controller's own.
func TestKeyRenewal(t *testing.T) {
	old, renewed := pair(t, 2048), pair(t, 4096)
	target := Target{Namespace: "team-a", Name: "creds", Scope: Strict}
	data := map[string][]byte{"token": []byte("s3cr3t")}
	oldRec, oldYAML := sealYAML(t, old, target, data, Template{})
	newRec, newYAML := sealYAML(t, renewed, target, data, Template{})
	if oldRec.KeyFingerprint != old.cert.KeyFingerprint || newRec.KeyFingerprint != renewed.cert.KeyFingerprint {
		t.Fatalf("records name keys %s and %s", oldRec.KeyFingerprint, newRec.KeyFingerprint)
	}
	if !oldRec.Fits(target) || oldRec.KeyRetired(nil) {
		t.Fatal("the old Record must be kept after a renewal")
	}
	if !oldRec.KeyRetired([]string{old.cert.KeyFingerprint}) || newRec.KeyRetired([]string{old.cert.KeyFingerprint}) {
		t.Fatal("retiring the old key must rule out the old Record only")
	}

	keys := func(ps ...*testPair) map[string]*rsa.PrivateKey {
		m := map[string]*rsa.PrivateKey{}
		for _, p := range ps {
			m[p.cert.KeyFingerprint] = p.priv
		}
		return m
	}
	tests := []struct {
		name     string
		manifest []byte
		keys     map[string]*rsa.PrivateKey
		wantOpen bool
	}{
		{"old SealedSecret, controller holds both keys", oldYAML, keys(old, renewed), true},
		{"new SealedSecret, controller holds both keys", newYAML, keys(old, renewed), true},
		{"old SealedSecret, old key dropped", oldYAML, keys(renewed), false},
		{"new SealedSecret, sealed with the new key only", newYAML, keys(old), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sec, err := decodeStrict(t, tc.manifest).Unseal(scheme.Codecs, tc.keys)
			if !tc.wantOpen {
				if err == nil {
					t.Fatal("unsealed without the key it was sealed with")
				}
				return
			}
			if err != nil {
				t.Fatalf("Unseal: %v", err)
			}
			if !sameData(sec.Data, data) {
				t.Errorf("Data = %q", sec.Data)
			}
		})
	}
}

func TestCheckKeyFingerprint(t *testing.T) {
	small, big := pair(t, 2048), pair(t, 4096)
	zero := "SHA256:" + strings.Repeat("A", 43) // the digest of all zeroes
	tests := []struct {
		name    string
		in      string
		wantErr string // "" when valid
	}{
		{"2048-bit key", small.cert.KeyFingerprint, ""},
		{"4096-bit key", big.cert.KeyFingerprint, ""},
		{"zero digest", zero, ""},
		{"empty", "", `"" is not a key fingerprint: want "SHA256:" and 43 characters of unpadded base64`},
		{"no prefix", strings.TrimPrefix(small.cert.KeyFingerprint, "SHA256:"), "is not a key fingerprint"},
		{"lower-case prefix", "sha256:" + strings.TrimPrefix(small.cert.KeyFingerprint, "SHA256:"), "is not a key fingerprint"},
		{"padded", small.cert.KeyFingerprint + "=", "is not a key fingerprint"},
		{"one character short", small.cert.KeyFingerprint[:len(small.cert.KeyFingerprint)-1], "is not a key fingerprint"},
		{"trailing bits set", zero[:len(zero)-1] + "B", "is not a key fingerprint"},
		{"URL alphabet", "SHA256:" + strings.Repeat("_", 42) + "A", "is not a key fingerprint"},
		{"surrounding space", " " + small.cert.KeyFingerprint, "is not a key fingerprint"},
		{"SHA-1 length", "SHA256:" + base64.RawStdEncoding.EncodeToString(make([]byte, 20)), "is not a key fingerprint"},
		{"MD5 form", "MD5:" + strings.Join(splitPairs(strings.Repeat("ab", 16)), ":"), "is not a key fingerprint"},
		{"certificate SHA-256", small.cert.SHA256, "64 hex digits are a certificate's SHA-256, not its key's fingerprint"},
		{"certificate SHA-256 with colons", strings.ToUpper(strings.Join(splitPairs(small.cert.SHA256), ":")), "64 hex digits are a certificate's SHA-256"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckKeyFingerprint(tc.in)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestParseScope(t *testing.T) {
	tests := []struct {
		in      string
		want    Scope
		wantErr bool
	}{
		{"", Strict, false},
		{"strict", Strict, false},
		{"namespace-wide", NamespaceWide, false},
		{"cluster-wide", ClusterWide, false},
		{"Strict", "", true},
		{"cluster", "", true},
	}
	for _, tc := range tests {
		got, err := ParseScope(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseScope(%q) = %q, %v", tc.in, got, err)
		}
	}
}
