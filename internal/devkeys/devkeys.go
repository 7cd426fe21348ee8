// Package devkeys writes the keys a developer needs to run the natsuser
// Promise on one machine, and the platform configuration that points at
// them: a sealed-secrets key pair and certificate (as the controller makes
// them), and a NATS operator, account and account signing key, with the
// JWTs and a nats-server configuration that trust them.
//
// With Options.Destinations it also writes one sealing key pair per
// destination, as each cluster's controller has its own, and a
// configuration that places requests on them (config.destinations).
//
// Everything it writes is for development only and secret: it belongs in a
// git-ignored directory such as .demo/. A directory that already holds a
// complete set is reused, so repeated demos keep their keys.
package devkeys

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/bitnami-labs/sealed-secrets/pkg/crypto"
	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"
	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/pkg/k8sname"
	"github.com/promisekit/promisekit/pkg/sealing"
)

// Options shape a new set of keys.
type Options struct {
	// Bits is the sealing key's size; the controller uses 4096.
	Bits int
	// Force replaces an existing set.
	Force bool
	// NATSURL is where the demo's nats-server would listen; it goes into
	// the configuration (and so into status) only.
	NATSURL string
	// Destinations, when set, name clusters that each get a sealing key
	// pair of their own, under sealing/<name>/. The configuration then
	// lists them in config.destinations, each selected by the label
	// DestinationLabel=<name> and requestable, the first the default.
	Destinations []string
}

// DestinationLabel is the label that selects each destination's cluster.
const DestinationLabel = "cluster"

// Defaults for Options.
const (
	DefaultBits    = 4096
	DefaultNATSURL = "nats://127.0.0.1:4222"
	// certificateAge and certificateValidity match the controller's
	// ten-year certificates, made valid from a year ago so that runs with
	// a clock set in the past (tests, benchmarks) accept them too.
	certificateAge      = 365 * 24 * time.Hour
	certificateValidity = 10 * 365 * 24 * time.Hour
)

// Keys are the files of one set, by absolute path.
type Keys struct {
	Dir string
	// ConfigFile is the natsuser platform configuration (PROMISEKIT_CONFIG).
	ConfigFile string
	// CertificateFile and PrivateKeyFile are the sealing key pair; the
	// private key unseals what the stage sealed.
	CertificateFile   string
	PrivateKeyFile    string
	CertificateSHA256 string
	// The NATS operator and account, and a nats-server configuration that
	// trusts them (nats-server -c ServerConfigFile).
	OperatorJWTFile     string
	AccountJWTFile      string
	SigningKeyFile      string
	ServerConfigFile    string
	AccountPublicKey    string
	SigningKeyPublicKey string
	// Destinations are the destinations' sealing pairs, in the order of
	// Options.Destinations.
	Destinations []Destination
}

// Destination is one cluster's sealing key pair.
type Destination struct {
	Name string
	// Labels select the destination's cluster (DestinationLabel).
	Labels            map[string]string
	CertificateFile   string
	PrivateKeyFile    string
	CertificateSHA256 string
}

// SealingKey reads the destination's sealing private key.
func (d *Destination) SealingKey() (*rsa.PrivateKey, error) {
	return readPrivateKey(d.PrivateKeyFile)
}

func layout(dir string, destinations []string) (*Keys, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	var dests []Destination
	for _, name := range destinations {
		if !k8sname.IsDNSLabel(name) || slices.ContainsFunc(dests, func(d Destination) bool { return d.Name == name }) {
			return nil, fmt.Errorf("devkeys: destination %q: names are distinct DNS labels", name)
		}
		dests = append(dests, Destination{
			Name:            name,
			Labels:          map[string]string{DestinationLabel: name},
			CertificateFile: filepath.Join(abs, "sealing", name, "cert.pem"),
			PrivateKeyFile:  filepath.Join(abs, "sealing", name, "key.pem"),
		})
	}
	return &Keys{
		Destinations:     dests,
		Dir:              abs,
		ConfigFile:       filepath.Join(abs, "natsuser.yaml"),
		CertificateFile:  filepath.Join(abs, "sealing", "cert.pem"),
		PrivateKeyFile:   filepath.Join(abs, "sealing", "key.pem"),
		OperatorJWTFile:  filepath.Join(abs, "nats", "operator.jwt"),
		AccountJWTFile:   filepath.Join(abs, "nats", "account.jwt"),
		SigningKeyFile:   filepath.Join(abs, "nats", "account-signing-key.nk"),
		ServerConfigFile: filepath.Join(abs, "nats", "server.conf"),
	}, nil
}

// Generate writes a new set into dir, or returns the complete set already
// there unless o.Force.
func Generate(dir string, o Options) (*Keys, error) {
	k, err := layout(dir, o.Destinations)
	if err != nil {
		return nil, err
	}
	if !o.Force {
		if err := k.load(); err == nil {
			return k, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("devkeys: %s holds an incomplete or damaged set (use -force to replace it): %w", k.Dir, err)
		}
	}
	if o.Bits == 0 {
		o.Bits = DefaultBits
	}
	if o.NATSURL == "" {
		o.NATSURL = DefaultNATSURL
	}
	if err := writeSealing(k.CertificateFile, k.PrivateKeyFile, o.Bits); err != nil {
		return nil, err
	}
	for _, d := range k.Destinations {
		if err := writeSealing(d.CertificateFile, d.PrivateKeyFile, o.Bits); err != nil {
			return nil, err
		}
	}
	if err := k.writeNATS(); err != nil {
		return nil, err
	}
	if err := k.writeConfig(o.NATSURL); err != nil {
		return nil, err
	}
	return k, k.load()
}

// Env is the environment a stage needs to use the set.
func (k *Keys) Env() map[string]string {
	return map[string]string{"PROMISEKIT_CONFIG": k.ConfigFile}
}

// SealingKey reads the sealing private key.
func (k *Keys) SealingKey() (*rsa.PrivateKey, error) {
	return readPrivateKey(k.PrivateKeyFile)
}

func readPrivateKey(file string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", file)
	}
	return x509.ParsePKCS1PrivateKey(block.Bytes)
}

func writeSealing(certFile, keyFile string, bits int) error {
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return fmt.Errorf("devkeys: generating the sealing key: %w", err)
	}
	cert, err := crypto.SignKeyWithNotBefore(rand.Reader, key, time.Now().Add(-certificateAge), certificateValidity, "sealed-secrets-dev")
	if err != nil {
		return fmt.Errorf("devkeys: signing the sealing certificate: %w", err)
	}
	if err := writeFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return err
	}
	return writeFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644)
}

func (k *Keys) writeNATS() error {
	operator, err := nkeys.CreateOperator()
	if err != nil {
		return err
	}
	acct, err := nkeys.CreateAccount()
	if err != nil {
		return err
	}
	signer, err := nkeys.CreateAccount()
	if err != nil {
		return err
	}
	opPub, _ := operator.PublicKey()
	acctPub, _ := acct.PublicKey()
	signerPub, _ := signer.PublicKey()

	opClaims := jwt.NewOperatorClaims(opPub)
	opClaims.Name = "promisekit-dev"
	opJWT, err := opClaims.Encode(operator)
	if err != nil {
		return fmt.Errorf("devkeys: signing the operator JWT: %w", err)
	}
	acctClaims := jwt.NewAccountClaims(acctPub)
	acctClaims.Name = "default"
	acctClaims.SigningKeys.Add(signerPub)
	acctJWT, err := acctClaims.Encode(operator)
	if err != nil {
		return fmt.Errorf("devkeys: signing the account JWT: %w", err)
	}
	for file, kp := range map[string]nkeys.KeyPair{
		filepath.Join(k.Dir, "nats", "operator.nk"): operator,
		filepath.Join(k.Dir, "nats", "account.nk"):  acct,
		k.SigningKeyFile: signer,
	} {
		seed, err := kp.Seed()
		if err != nil {
			return err
		}
		if err := writeFile(file, append(seed, '\n'), 0o600); err != nil {
			return err
		}
	}
	if err := writeFile(k.OperatorJWTFile, []byte(opJWT+"\n"), 0o644); err != nil {
		return err
	}
	if err := writeFile(k.AccountJWTFile, []byte(acctJWT+"\n"), 0o644); err != nil {
		return err
	}
	conf := fmt.Sprintf(`# nats-server -c %s
# Operator mode with the devkeys account preloaded; written by devkeys.
listen: 127.0.0.1:4222
operator: %q
resolver: MEMORY
resolver_preload: {
  %s: %q
}
`, k.ServerConfigFile, k.OperatorJWTFile, acctPub, acctJWT)
	return writeFile(k.ServerConfigFile, []byte(conf), 0o644)
}

func (k *Keys) writeConfig(natsURL string) error {
	acctJWT, err := os.ReadFile(k.AccountJWTFile)
	if err != nil {
		return err
	}
	claims, err := jwt.DecodeAccountClaims(string(trimNewline(acctJWT)))
	if err != nil {
		return fmt.Errorf("devkeys: %s: %w", k.AccountJWTFile, err)
	}
	cert, err := sealing.LoadCertificate(k.CertificateFile, time.Now(), "")
	if err != nil {
		return err
	}
	cfg := map[string]any{
		"sealing": map[string]any{"certificate": k.CertificateFile, "sha256": cert.SHA256},
		"accounts": map[string]any{
			"default": map[string]any{
				"natsURL": natsURL,
				"selfHosted": map[string]any{
					"accountPublicKey": claims.Subject,
					"signingKeyFile":   k.SigningKeyFile,
				},
			},
		},
	}
	if len(k.Destinations) > 0 {
		// Each destination seals with its own certificate.
		delete(cfg, "sealing")
		var dests []any
		for _, d := range k.Destinations {
			cert, err := sealing.LoadCertificate(d.CertificateFile, time.Now(), "")
			if err != nil {
				return err
			}
			dests = append(dests, map[string]any{
				"name":        d.Name,
				"matchLabels": d.Labels,
				"requestable": true,
				"sealing":     map[string]any{"certificate": d.CertificateFile, "sha256": cert.SHA256},
			})
		}
		cfg["destinations"] = dests
		cfg["defaultDestination"] = k.Destinations[0].Name
	}
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	header := "# natsuser platform configuration for local runs, written by devkeys. Not for production.\n"
	return writeFile(k.ConfigFile, append([]byte(header), data...), 0o644)
}

// load fills in the public facts of the set on disk; fs.ErrNotExist when
// there is none.
func (k *Keys) load() error {
	for _, f := range []string{k.ConfigFile, k.CertificateFile, k.PrivateKeyFile, k.OperatorJWTFile, k.AccountJWTFile, k.SigningKeyFile, k.ServerConfigFile} {
		if _, err := os.Stat(f); err != nil {
			return err
		}
	}
	certPEM, err := os.ReadFile(k.CertificateFile)
	if err != nil {
		return err
	}
	cert, err := sealing.ParseCertificate(certPEM, time.Now(), "")
	if err != nil {
		return fmt.Errorf("%s: %w", k.CertificateFile, err)
	}
	k.CertificateSHA256 = cert.SHA256
	if err := k.loadDestinations(); err != nil {
		return err
	}
	acctJWT, err := os.ReadFile(k.AccountJWTFile)
	if err != nil {
		return err
	}
	claims, err := jwt.DecodeAccountClaims(string(trimNewline(acctJWT)))
	if err != nil {
		return fmt.Errorf("%s: %w", k.AccountJWTFile, err)
	}
	k.AccountPublicKey = claims.Subject
	for pub := range claims.SigningKeys {
		k.SigningKeyPublicKey = pub
	}
	return nil
}

// loadDestinations fills in the destinations' certificate fingerprints,
// and refuses a set whose configuration lists other destinations.
func (k *Keys) loadDestinations() error {
	var cfg struct {
		Destinations []struct {
			Name string `json:"name"`
		} `json:"destinations"`
	}
	data, err := os.ReadFile(k.ConfigFile)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return fmt.Errorf("%s: %w", k.ConfigFile, err)
	}
	var have, want []string
	for _, d := range cfg.Destinations {
		have = append(have, d.Name)
	}
	for i := range k.Destinations {
		d := &k.Destinations[i]
		want = append(want, d.Name)
		for _, f := range []string{d.CertificateFile, d.PrivateKeyFile} {
			if _, err := os.Stat(f); err != nil {
				return err
			}
		}
		certPEM, err := os.ReadFile(d.CertificateFile)
		if err != nil {
			return err
		}
		cert, err := sealing.ParseCertificate(certPEM, time.Now(), "")
		if err != nil {
			return fmt.Errorf("%s: %w", d.CertificateFile, err)
		}
		d.CertificateSHA256 = cert.SHA256
	}
	if !slices.Equal(have, want) {
		return fmt.Errorf("%s places requests on destinations %v, not %v", k.ConfigFile, have, want)
	}
	return nil
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func writeFile(name string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o700); err != nil {
		return fmt.Errorf("devkeys: %w", err)
	}
	if err := os.WriteFile(name, data, perm); err != nil {
		return fmt.Errorf("devkeys: %w", err)
	}
	return os.Chmod(name, perm) // WriteFile keeps an existing file's mode
}
