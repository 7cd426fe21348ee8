package natsuser

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/platformconfig"
	"github.com/promisekit/promisekit/pkg/sealing"
	"github.com/promisekit/promisekit/promises/natsuser/backend"
	"github.com/promisekit/promisekit/promises/natsuser/selfhosted"
	"github.com/promisekit/promisekit/promises/natsuser/synadia"
)

// ConfigVariable names the platform configuration file; DefaultConfigPath is
// where the Promise mounts it (a ConfigMap, optional).
const (
	ConfigVariable    = platformconfig.Variable
	DefaultConfigPath = platformconfig.DefaultPath
)

// Default paths of mounted files.
const (
	DefaultCertificatePath = "/etc/promisekit/sealing/cert.pem"
	DefaultSigningKeyPath  = "/etc/promisekit/secrets/nats-account-signing-key.nk"
	DefaultTokenPath       = "/etc/promisekit/secrets/synadia-token"
	DefaultUserNamePrefix  = "kratix."
	defaultSynadiaTimeout  = 2 * time.Minute
)

// Config is the platform configuration of the natsuser Promise. Teams never
// set it: it comes from a ConfigMap in the pipeline's namespace, and the
// secrets it names come from mounted Secrets.
type Config struct {
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
type SealingConfig struct {
	Certificate string `json:"certificate,omitempty"`
	// SHA256 pins the certificate's fingerprint (hex, colons allowed).
	SHA256 string `json:"sha256,omitempty"`
	// Scope is strict (default), namespace-wide or cluster-wide.
	Scope string `json:"scope,omitempty"`
}

// SynadiaConfig is how to reach Synadia Cloud.
type SynadiaConfig struct {
	URL       string `json:"url,omitempty"`
	TokenFile string `json:"tokenFile,omitempty"`
	// AttemptTimeout bounds one HTTP attempt; Timeout bounds the whole run.
	AttemptTimeout string `json:"attemptTimeout,omitempty"`
	Attempts       int    `json:"attempts,omitempty"`
	Timeout        string `json:"timeout,omitempty"`
	// BackoffInitial and BackoffMax shape the waits between attempts.
	BackoffInitial string `json:"backoffInitial,omitempty"`
	BackoffMax     string `json:"backoffMax,omitempty"`
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
// account called "default" whose key is mounted at the default path. The
// sealing certificate has no safe default: it must be mounted.
func defaultConfig() Config {
	return Config{
		UserNamePrefix: DefaultUserNamePrefix,
		Sealing:        SealingConfig{Certificate: DefaultCertificatePath, Scope: string(sealing.Strict)},
		Accounts: map[string]AccountConfig{
			DefaultAccount: {SelfHosted: &SelfHostedAccountConfig{SigningKeyFile: DefaultSigningKeyPath}},
		},
	}
}

// loadConfig reads the platform configuration over the defaults and
// validates it. A missing file gives the defaults; accounts listed in the
// file replace the default account rather than merging with it.
func loadConfig(getenv func(string) string) (*Config, error) {
	cfg := defaultConfig()
	defaults := cfg.Accounts
	cfg.Accounts = nil
	path, _, err := platformconfig.Load(getenv, &cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Accounts == nil {
		cfg.Accounts = defaults
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("platform configuration %s: %w", path, err)
	}
	return &cfg, nil
}

func (c *Config) validate() error {
	var errs kratix.FieldErrors
	if c.Sealing.Certificate == "" {
		errs.Add("config.sealing.certificate", "must name the sealed-secrets certificate file")
	}
	if _, err := sealing.ParseScope(c.Sealing.Scope); err != nil {
		errs.Add("config.sealing.scope", "must be strict, namespace-wide or cluster-wide")
	}
	if len(c.Accounts) == 0 {
		errs.Add("config.accounts", "must list at least one account")
	}
	usesSynadia := false
	for _, name := range slices.Sorted(maps.Keys(c.Accounts)) {
		a, field := c.Accounts[name], "config.accounts."+name
		if !accountRE.MatchString(name) || len(name) > 63 {
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
		for field, v := range map[string]string{
			"attemptTimeout": s.AttemptTimeout, "timeout": s.Timeout,
			"backoffInitial": s.BackoffInitial, "backoffMax": s.BackoffMax,
		} {
			if _, err := parseOptionalDuration(v); err != nil {
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

func parseOptionalDuration(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration", v)
	}
	return d, nil
}

// account is an opened account: its backend, and how long a run may take.
type account struct {
	name    string
	config  AccountConfig
	backend backend.Backend
	// timeout bounds the run when the backend is remote; 0: none needed.
	timeout time.Duration
}

// openAccount opens the backend of the account a request names. An
// unknown account is the request's error.
func (c *Config) openAccount(name string) (*account, error) {
	a, ok := c.Accounts[name]
	if !ok {
		return nil, &kratix.FieldError{Field: "spec.account", Detail: fmt.Sprintf("this platform has no NATS account %q (it has: %s)", name, strings.Join(slices.Sorted(maps.Keys(c.Accounts)), ", "))}
	}
	if a.SelfHosted != nil {
		s, err := selfhosted.Open(a.SelfHosted.AccountPublicKey, a.SelfHosted.SigningKeyFile)
		if err != nil {
			return nil, fmt.Errorf("account %q: %w", name, err)
		}
		return &account{name: name, config: a, backend: s}, nil
	}
	s := c.Synadia
	// validate has checked every duration.
	attemptTimeout, _ := parseOptionalDuration(s.AttemptTimeout)
	timeout, _ := parseOptionalDuration(s.Timeout)
	initial, _ := parseOptionalDuration(s.BackoffInitial)
	maxWait, _ := parseOptionalDuration(s.BackoffMax)
	client, err := synadia.Open(synadia.Options{
		URL:             s.URL,
		TokenFile:       cmp.Or(s.TokenFile, DefaultTokenPath),
		AccountID:       a.Synadia.AccountID,
		SigningKeyGroup: a.Synadia.SigningKeyGroup,
		AttemptTimeout:  attemptTimeout,
		Attempts:        s.Attempts,
		Backoff:         synadia.Backoff{Initial: initial, Max: maxWait},
	})
	if err != nil {
		return nil, fmt.Errorf("account %q: %w", name, err)
	}
	return &account{name: name, config: a, backend: client, timeout: cmp.Or(timeout, defaultSynadiaTimeout)}, nil
}
