package natsuser

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/promisekit/promisekit/pkg/placement"

	"github.com/promisekit/promisekit/pkg/stage"

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
	// Kratix is what the installed Kratix honours (workflow control).
	stage.Kratix `json:"kratix,omitempty"`
	// PlatformOverlays is `overlays:`, the platform's ytt overlays over every document.
	stage.PlatformOverlays
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
	// Destinations are the clusters credentials are delivered to, each
	// with what differs per cluster. Without them there is one implicit
	// destination: Sealing's certificate seals, and no destination
	// selector is written (Kratix schedules as the Promise says).
	Destinations []DestinationConfig `json:"destinations,omitempty"`
	// DefaultDestination names the destination of a request that names
	// none in spec.destination.
	DefaultDestination string `json:"defaultDestination,omitempty"`
}

// DestinationConfig is one cluster a request may be placed on.
type DestinationConfig struct {
	// The name, labels and whether a request may choose it.
	placement.Destination
	// Sealing is the certificate of the cluster's sealed-secrets
	// controller: each cluster's controller has its own key.
	Sealing DestinationSealing `json:"sealing"`
	// NATSURL, where set, is the URL workloads on this cluster connect
	// to, shown in status instead of the account's.
	NATSURL string `json:"natsURL,omitempty"`
}

// DestinationSealing is one destination's sealing certificate; the scope
// and the retired keys are config.sealing's, for every destination.
type DestinationSealing struct {
	Certificate string `json:"certificate"`
	// SHA256 pins the certificate's fingerprint (hex, colons allowed).
	SHA256 string `json:"sha256,omitempty"`
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
	c.validateDestinations(&errs)
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

// validateDestinations checks config.destinations and
// config.defaultDestination.
func (c *Config) validateDestinations(errs *kratix.FieldErrors) {
	placement.Validate(errs, placement.Of(c.Destinations), c.DefaultDestination)
	if len(c.Destinations) == 0 {
		return
	}
	// Each destination names its own certificate: one set here would seal
	// for no cluster in particular.
	if c.Sealing.Certificate != DefaultCertificatePath {
		errs.Add("config.sealing.certificate", "with config.destinations, each destination names its controller's certificate in config.destinations[i].sealing.certificate")
	}
	if c.Sealing.SHA256 != "" {
		errs.Add("config.sealing.sha256", "with config.destinations, each destination pins its certificate in config.destinations[i].sealing.sha256")
	}
	for i, d := range c.Destinations {
		if d.Sealing.Certificate == "" {
			errs.Add(fmt.Sprintf("config.destinations[%d].sealing.certificate", i), "must name the certificate of the destination's sealed-secrets controller")
		}
	}
}

// destinationSettings is the destination a request is placed on, with
// what the stage needs of it.
type destinationSettings struct {
	// name is the destination's; "" is the implicit destination of a
	// configuration that lists none: no selector, and config.sealing.
	name   string
	labels map[string]string
	// certFile and sha256 are the destination's sealing certificate and
	// pin; certFileField is the setting that names them.
	certFile, sha256, certFileField string
	natsURL                         string
}

// place returns the destination of a request that names requested in
// spec.destination ("" for none).
func (c *Config) place(requested string) (destinationSettings, error) {
	i, err := placement.Choose(placement.Of(c.Destinations), c.DefaultDestination, requested, "NATS user")
	switch {
	case err != nil:
		return destinationSettings{}, err
	case i < 0:
		return destinationSettings{certFile: c.Sealing.Certificate, sha256: c.Sealing.SHA256, certFileField: "config.sealing.certificate"}, nil
	}
	d := c.Destinations[i]
	return destinationSettings{
		name:          d.Name,
		labels:        d.MatchLabels,
		certFile:      d.Sealing.Certificate,
		sha256:        d.Sealing.SHA256,
		certFileField: fmt.Sprintf("config.destinations[%d].sealing.certificate", i),
		natsURL:       d.NATSURL,
	}, nil
}

// certificate loads the destination's sealed-secrets controller
// certificate. Its own key cannot be retired: everything sealed for the
// destination from now on is sealed with it.
func (p *destinationSettings) certificate(now time.Time, retiredKeys []string) (*sealing.Certificate, error) {
	cert, err := sealing.LoadCertificate(p.certFile, now, p.sha256)
	switch {
	case errors.Is(err, fs.ErrNotExist) && p.name == "":
		return nil, fmt.Errorf("%w: mount the sealed-secrets controller's certificate there (or name it in config.sealing.certificate); there is no safe default", err)
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%w: mount the certificate of destination %s's sealed-secrets controller there (or name it in %s)", err, p.name, p.certFileField)
	case err != nil:
		return nil, err
	}
	if i := slices.Index(retiredKeys, cert.KeyFingerprint); i >= 0 {
		return nil, &kratix.FieldError{
			Field:  fmt.Sprintf("config.sealing.retiredKeys[%d]", i),
			Detail: fmt.Sprintf("%s is the key of the mounted sealing certificate %s%s: mount the controller's newer certificate before retiring this key", cert.KeyFingerprint, p.certFile, p.of()),
		}
	}
	return cert, nil
}

// of names the destination in a message, after what it qualifies.
func (p *destinationSettings) of() string {
	if p.name == "" {
		return ""
	}
	return " (destination " + p.name + ")"
}
