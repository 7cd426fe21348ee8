package natsuser

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/promisekit/promisekit/pkg/k8sname"
	"github.com/promisekit/promisekit/pkg/platformconfig"

	"github.com/nats-io/nkeys"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/sealing"
)

// Default paths of mounted files.
const (
	DefaultCertificatePath = "/etc/promisekit/sealing/cert.pem"
	DefaultSigningKeyPath  = "/etc/promisekit/secrets/nats-account-signing-key.nk"
	DefaultTokenPath       = "/etc/promisekit/secrets/synadia-token"
	DefaultUserNamePrefix  = "kratix."
	// defaultTimeout bounds a whole run unless config.timeout says otherwise.
	defaultTimeout = 2 * time.Minute
)

// Config is the platform configuration of the natsuser Promise. Teams never
// set it: it comes from a ConfigMap in the pipeline's namespace, and the
// secrets it names come from mounted Secrets.
type Config struct {
	// Timeout bounds the whole run (a Go duration; 2m by default).
	Timeout platformconfig.Duration `json:"timeout,omitempty"`
	// UserNamePrefix starts every NATS user name this Promise creates, so
	// that adoption by name never takes a user it did not make.
	UserNamePrefix string        `json:"userNamePrefix,omitempty"`
	Sealing        SealingConfig `json:"sealing,omitempty"`
	// Synadia is how to reach Synadia Cloud, for accounts kept there.
	Synadia *SynadiaConfig `json:"synadia,omitempty"`
	// Accounts are the NATS accounts a request's spec.account may name.
	Accounts map[string]AccountConfig `json:"accounts,omitempty"`
}

// SealingConfig names the sealed-secrets controller's certificate.
//
// The certificate's key seals every credential issued from then on. What
// was sealed with an earlier key is kept (the controller keeps its earlier
// keys and decrypts with all of them), unless that key is listed in
// RetiredKeys.
type SealingConfig struct {
	Certificate string `json:"certificate,omitempty"`
	// SHA256 pins the certificate's fingerprint (hex, colons allowed).
	SHA256 string `json:"sha256,omitempty"`
	// Scope is strict (default), namespace-wide or cluster-wide.
	Scope string `json:"scope,omitempty"`
	// RetiredKeys are the fingerprints of sealing keys the platform no
	// longer trusts, as status.sealingKey shows them ("SHA256:..."):
	// credentials sealed with one are issued again, once.
	RetiredKeys []string `json:"retiredKeys,omitempty"`
}

// SynadiaConfig is how to reach Synadia Cloud.
type SynadiaConfig struct {
	URL       string `json:"url,omitempty"`
	TokenFile string `json:"tokenFile,omitempty"`
	// AttemptTimeout bounds one HTTP attempt. Timeout is the whole run's
	// bound when config.timeout is not set (the setting's earlier place).
	AttemptTimeout platformconfig.Duration `json:"attemptTimeout,omitempty"`
	Attempts       int                     `json:"attempts,omitempty"`
	Timeout        platformconfig.Duration `json:"timeout,omitempty"`
	// BackoffInitial and BackoffMax shape the waits between attempts.
	BackoffInitial platformconfig.Duration `json:"backoffInitial,omitempty"`
	BackoffMax     platformconfig.Duration `json:"backoffMax,omitempty"`
}

// AccountConfig is one NATS account; exactly one of SelfHosted and Synadia
// is set.
type AccountConfig struct {
	// NATSURL is where workloads connect; it is shown in status.
	NATSURL    string                   `json:"natsURL,omitempty"`
	SelfHosted *SelfHostedAccountConfig `json:"selfHosted,omitempty"`
	Synadia    *SynadiaAccountConfig    `json:"synadia,omitempty"`
}

// SelfHostedAccountConfig is an account of a self-hosted NATS deployment.
type SelfHostedAccountConfig struct {
	// AccountPublicKey is the account's public key. Leave it empty only
	// when SigningKeyFile holds the account's own identity key.
	AccountPublicKey string `json:"accountPublicKey,omitempty"`
	SigningKeyFile   string `json:"signingKeyFile,omitempty"`
}

// SynadiaAccountConfig is an account kept in Synadia Cloud.
type SynadiaAccountConfig struct {
	AccountID       string `json:"accountID,omitempty"`
	SigningKeyGroup string `json:"signingKeyGroup,omitempty"`
}

// defaultConfig is what runs when no file is mounted: one self-hosted
// account called "default" whose key is mounted at the default path (see
// validate: accounts listed in a file replace it rather than merge with
// it). The sealing certificate has no safe default: it must be mounted.
func defaultConfig() *Config {
	return &Config{
		UserNamePrefix: DefaultUserNamePrefix,
		Sealing:        SealingConfig{Certificate: DefaultCertificatePath, Scope: string(sealing.Strict)},
	}
}

func defaultAccounts() map[string]AccountConfig {
	return map[string]AccountConfig{
		DefaultAccount: {SelfHosted: &SelfHostedAccountConfig{SigningKeyFile: DefaultSigningKeyPath}},
	}
}

// deadline is the whole run's time limit.
func (c *Config) deadline() time.Duration {
	// validate has checked both durations.
	d := c.Timeout.Or(0)
	if d == 0 && c.Synadia != nil {
		d = c.Synadia.Timeout.Or(0)
	}
	return cmp.Or(d, defaultTimeout)
}

// certificate loads the sealed-secrets controller's certificate. Its own
// key cannot be retired: everything sealed from now on is sealed with it.
func (s *SealingConfig) certificate(now time.Time) (*sealing.Certificate, error) {
	cert, err := sealing.LoadCertificate(s.Certificate, now, s.SHA256)
	if err != nil {
		return nil, err
	}
	if i := slices.Index(s.RetiredKeys, cert.KeyFingerprint); i >= 0 {
		return nil, &kratix.FieldError{
			Field:  fmt.Sprintf("config.sealing.retiredKeys[%d]", i),
			Detail: fmt.Sprintf("%s is the key of the mounted sealing certificate %s: mount the controller's newer certificate before retiring this key", cert.KeyFingerprint, s.Certificate),
		}
	}
	return cert, nil
}

// validate checks the configuration; a file that lists no accounts gets
// the default one.
func (c *Config) validate() error {
	if c.Accounts == nil {
		c.Accounts = defaultAccounts()
	}
	var errs kratix.FieldErrors
	if err := c.Timeout.Check(); err != nil {
		errs.Add("config.timeout", err.Error())
	}
	if c.Sealing.Certificate == "" {
		errs.Add("config.sealing.certificate", "must name the sealed-secrets certificate file")
	}
	if _, err := sealing.ParseScope(c.Sealing.Scope); err != nil {
		errs.Add("config.sealing.scope", "must be strict, namespace-wide or cluster-wide")
	}
	first := map[string]int{}
	for i, fp := range c.Sealing.RetiredKeys {
		field := fmt.Sprintf("config.sealing.retiredKeys[%d]", i)
		if err := sealing.CheckKeyFingerprint(fp); err != nil {
			errs.Add(field, err.Error())
		} else if j, seen := first[fp]; seen {
			errs.Add(field, fmt.Sprintf("repeats config.sealing.retiredKeys[%d]", j))
		} else {
			first[fp] = i
		}
	}
	if len(c.Accounts) == 0 {
		errs.Add("config.accounts", "must list at least one account")
	}
	usesSynadia := false
	for _, name := range slices.Sorted(maps.Keys(c.Accounts)) {
		a, field := c.Accounts[name], "config.accounts."+name
		if !k8sname.IsDNSLabel(name) {
			errs.Add(field, "account names are DNS labels, as spec.account is")
		}
		switch {
		case (a.SelfHosted == nil) == (a.Synadia == nil):
			errs.Add(field, "must set exactly one of selfHosted and synadia")
		case a.SelfHosted != nil:
			if a.SelfHosted.SigningKeyFile == "" {
				errs.Add(field+".selfHosted.signingKeyFile", "must not be empty")
			}
			if k := a.SelfHosted.AccountPublicKey; k != "" && !nkeys.IsValidPublicAccountKey(k) {
				errs.Add(field+".selfHosted.accountPublicKey", "must be an account public key (starting with A)")
			}
		case a.Synadia != nil:
			usesSynadia = true
			if a.Synadia.AccountID == "" {
				errs.Add(field+".synadia.accountID", "must not be empty")
			}
			if a.Synadia.SigningKeyGroup == "" {
				errs.Add(field+".synadia.signingKeyGroup", "must name the account's signing key group")
			}
		}
	}
	if usesSynadia && c.Synadia == nil {
		c.Synadia = &SynadiaConfig{}
	}
	if s := c.Synadia; s != nil {
		for field, d := range map[string]platformconfig.Duration{
			"attemptTimeout": s.AttemptTimeout, "timeout": s.Timeout,
			"backoffInitial": s.BackoffInitial, "backoffMax": s.BackoffMax,
		} {
			if err := d.Check(); err != nil {
				errs.Add("config.synadia."+field, err.Error())
			}
		}
		if s.Attempts < 0 {
			errs.Add("config.synadia.attempts", "must not be negative")
		}
		if s.URL != "" && !strings.HasPrefix(s.URL, "https://") && !strings.HasPrefix(s.URL, "http://") {
			errs.Add("config.synadia.url", "must be an http(s) URL")
		}
	}
	slices.SortStableFunc(errs, func(a, b *kratix.FieldError) int { return strings.Compare(a.Field, b.Field) })
	return errs.Err()
}
