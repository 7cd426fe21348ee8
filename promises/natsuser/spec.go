package natsuser

import (
	"cmp"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/promisekit/promisekit/pkg/k8sname"
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/promises/natsuser/backend"
)

// Spec is a NATSUser request's spec, as the CRD in promise.yaml defines it.
// Every rule the CRD states is checked again here: the pipeline must not
// rely on the API server having run them (Kratix may hand it an object
// admitted under an older CRD).
type Spec struct {
	// Account names one of the NATS accounts the platform configured.
	Account     string       `json:"account,omitempty"`
	Publish     *Subjects    `json:"publish,omitempty"`
	Subscribe   *Subjects    `json:"subscribe,omitempty"`
	Responses   *Responses   `json:"responses,omitempty"`
	Limits      *Limits      `json:"limits,omitempty"`
	Credentials *Credentials `json:"credentials,omitempty"`
	Secret      *Secret      `json:"secret,omitempty"`
	// Destination names the cluster the credentials go to, one the
	// platform lets requests choose (config.destinations); empty: its default.
	Destination string `json:"destination,omitempty"`
}

// Subjects are subjects allowed and denied; a deny wins over an allow.
type Subjects struct {
	Allow []string `json:"allow,omitempty"`
	Deny  []string `json:"deny,omitempty"`
}

// Responses let the user reply to requests it received.
type Responses struct {
	MaxMessages *int   `json:"maxMessages,omitempty"`
	TTL         string `json:"ttl,omitempty"`
}

// Limits bound the user's connection; -1 is unlimited.
type Limits struct {
	Subscriptions *int64 `json:"subscriptions,omitempty"`
	Data          *int64 `json:"data,omitempty"`
	Payload       *int64 `json:"payload,omitempty"`
}

// Credentials say how long credentials live and when they are renewed.
type Credentials struct {
	Lifetime    string `json:"lifetime,omitempty"`
	RenewBefore string `json:"renewBefore,omitempty"`
}

// Secret names the Secret the credentials are delivered in.
type Secret struct {
	Name string `json:"name,omitempty"`
	Key  string `json:"key,omitempty"`
}

// Defaults and bounds, the same in promise.yaml.
const (
	DefaultAccount          = "default"
	DefaultSecretKey        = "user.creds"
	defaultSecretNameSuffix = "-nats"
	DefaultLifetime         = 720 * time.Hour // 30 days
	DefaultRenewBefore      = 240 * time.Hour // 10 days: a daily re-run has ten chances
	DefaultResponseTTL      = 2 * time.Minute
	minLifetime             = time.Hour
	maxLifetime             = 8760 * time.Hour // a year
	maxSubjects             = 64
	maxSubjectLength        = 255
	maxResponseMessages     = 100000
	maxResponseTTL          = 24 * time.Hour
)

// The renewal window and the Promise's re-run interval. Credentials are
// issued again only by a run at or after expiry - renewBefore, so that
// window must hold several runs: Kratix re-runs a request every
// ReconciliationInterval after its last run completed (or failed); a run can
// fail (the backend unreachable) or start late (a requeue that lands just
// before the interval is up waits a whole interval more), and what it issues
// still has to travel to the workload (a commit to the state store, a GitOps
// sync, the sealed-secrets controller, the kubelet's Secret refresh: minutes).
// So renewBefore must be at least renewalIntervals intervals: 30m, four runs
// or more in the window at the usual spacing (the interval plus a run of up
// to 2m), two even if every run started a whole interval late. The stage
// cannot read its Promise at run time, so the interval is a constant here;
// interval_test.go checks that it is what promise.yaml declares and that
// the CRD's rule states the same minimum.
const (
	// ReconciliationInterval is promise.yaml's
	// spec.workflows.config.reconciliationInterval.
	ReconciliationInterval = 5 * time.Minute
	// renewalIntervals is how many re-run intervals the smallest allowed
	// renewal window spans: one for the run that renews, five of margin.
	renewalIntervals = 6
	// minRenewBefore is the smallest spec.credentials.renewBefore (30m);
	// it also leaves the shortest lifetime (1h) usable.
	minRenewBefore = renewalIntervals * ReconciliationInterval
)

// Patterns shared with promise.yaml's CRD (see the test that compares them,
// TestCRDAgreesWithGo in interval_test.go).
var (
	// subjectRE: dot-separated tokens of printable ASCII; "*" stands for one
	// whole token, ">" for the whole rest and only at the end.
	subjectRE = regexp.MustCompile(`^(([!-)+-\-/-=?-~]+|\*)\.)*([!-)+-\-/-=?-~]+|\*|>)$`)
	// durationRE: Go durations in whole units, such as 720h or 1h30m.
	durationRE = regexp.MustCompile(`^([0-9]+(h|m|s|ms))+$`)
)

// request is a validated spec with its defaults filled in.
type request struct {
	account     string
	settings    backend.Settings
	renewBefore time.Duration
	secretName  string
	secretKey   string
}

// validateSpec validates every field of the spec of the request called name
// and fills in the defaults.
func validateSpec(spec *Spec, name string) (*request, error) {
	var errs kratix.FieldErrors
	r := &request{
		account:   cmp.Or(spec.Account, DefaultAccount),
		secretKey: DefaultSecretKey,
		settings: backend.Settings{
			Limits:   backend.Limits{Subscriptions: backend.NoLimit, Data: backend.NoLimit, Payload: backend.NoLimit},
			Lifetime: DefaultLifetime,
		},
		renewBefore: DefaultRenewBefore,
	}
	if !k8sname.IsDNSLabel(r.account) {
		errs.Add("spec.account", "must be a DNS label (lower-case letters, digits and '-', at most 63)")
	}
	r.settings.Publish = subjects(&errs, "spec.publish", spec.Publish)
	r.settings.Subscribe = subjects(&errs, "spec.subscribe", spec.Subscribe)
	if rs := spec.Responses; rs != nil {
		resp := &backend.Responses{MaxMessages: 1, TTL: DefaultResponseTTL}
		if rs.MaxMessages != nil {
			resp.MaxMessages = *rs.MaxMessages
			if resp.MaxMessages < 1 || resp.MaxMessages > maxResponseMessages {
				errs.Add("spec.responses.maxMessages", fmt.Sprintf("must be between 1 and %d", maxResponseMessages))
			}
		}
		if rs.TTL != "" {
			resp.TTL = duration(&errs, "spec.responses.ttl", rs.TTL, time.Second, maxResponseTTL)
		}
		r.settings.Responses = resp
	}
	if l := spec.Limits; l != nil {
		r.settings.Limits.Subscriptions = limit(&errs, "spec.limits.subscriptions", l.Subscriptions)
		r.settings.Limits.Data = limit(&errs, "spec.limits.data", l.Data)
		r.settings.Limits.Payload = limit(&errs, "spec.limits.payload", l.Payload)
	}
	if c := spec.Credentials; c != nil {
		if c.Lifetime != "" {
			r.settings.Lifetime = duration(&errs, "spec.credentials.lifetime", c.Lifetime, minLifetime, maxLifetime)
		}
		if c.RenewBefore != "" {
			r.renewBefore = renewBefore(&errs, c.RenewBefore)
		}
	}
	if r.renewBefore > 0 && r.settings.Lifetime > 0 && r.renewBefore >= r.settings.Lifetime {
		errs.Add("spec.credentials.renewBefore", "must be shorter than spec.credentials.lifetime")
	}
	r.secretName = name + defaultSecretNameSuffix
	secretNameField := "metadata.name"
	if s := spec.Secret; s != nil {
		if s.Name != "" {
			r.secretName, secretNameField = s.Name, "spec.secret.name"
		}
		if s.Key != "" {
			r.secretKey = s.Key
		}
	}
	if !k8sname.IsDNSSubdomain(r.secretName) {
		detail := "must be a DNS subdomain of at most 253 characters"
		if secretNameField == "metadata.name" {
			detail = fmt.Sprintf("is too long for the default Secret name %s<name>: set spec.secret.name", defaultSecretNameSuffix)
		}
		errs.Add(secretNameField, detail)
	}
	// Stricter than the CRD, which refuses only "." and "..": a key such as
	// "..x" would pass here and fail at sealing, after credentials were made.
	if !k8sname.IsConfigMapKey(r.secretKey) {
		errs.Add("spec.secret.key", "must be a Secret key: letters, digits, '-', '_' and '.', at most 253, not . or ..")
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

func subjects(errs *kratix.FieldErrors, field string, s *Subjects) backend.Permission {
	if s == nil {
		return backend.Permission{}
	}
	check := func(field string, list []string) {
		if len(list) > maxSubjects {
			errs.Add(field, fmt.Sprintf("at most %d subjects", maxSubjects))
			return
		}
		seen := make(map[string]int, len(list))
		for i, subj := range list {
			f := fmt.Sprintf("%s[%d]", field, i)
			switch first, dup := seen[subj]; {
			case len(subj) > maxSubjectLength:
				errs.Add(f, fmt.Sprintf("longer than %d characters", maxSubjectLength))
			case !subjectRE.MatchString(subj):
				errs.Add(f, fmt.Sprintf("%q is not a NATS subject: dot-separated tokens of printable ASCII without spaces, '*' as a whole token, '>' only as the last", subj))
			case dup:
				errs.Add(f, fmt.Sprintf("%q is already listed at [%d]", subj, first))
			}
			if _, dup := seen[subj]; !dup {
				seen[subj] = i
			}
		}
	}
	check(field+".allow", s.Allow)
	check(field+".deny", s.Deny)
	return backend.Permission{Allow: s.Allow, Deny: s.Deny}
}

func limit(errs *kratix.FieldErrors, field string, v *int64) int64 {
	if v == nil {
		return backend.NoLimit
	}
	if *v < backend.NoLimit {
		errs.Add(field, "must be -1 (unlimited) or more")
	}
	return *v
}

// renewBefore parses spec.credentials.renewBefore. A well-formed window
// shorter than minRenewBefore is refused naming the re-run interval it must
// outlast; everything else as any duration field.
func renewBefore(errs *kratix.FieldErrors, v string) time.Duration {
	const field = "spec.credentials.renewBefore"
	if d, err := time.ParseDuration(v); err == nil && durationRE.MatchString(v) && d < minRenewBefore {
		errs.Add(field, fmt.Sprintf("must be at least %s: the Promise re-runs every %s, and the renewal window must hold %d of those re-runs",
			formatDuration(minRenewBefore), formatDuration(ReconciliationInterval), renewalIntervals))
		return 0
	}
	return duration(errs, field, v, minRenewBefore, maxLifetime)
}

func duration(errs *kratix.FieldErrors, field, v string, lo, hi time.Duration) time.Duration {
	d, err := time.ParseDuration(v)
	if !durationRE.MatchString(v) || err != nil {
		errs.Add(field, fmt.Sprintf("%q is not a duration such as 720h or 90m", v))
		return 0
	}
	if d < lo || d > hi {
		errs.Add(field, fmt.Sprintf("must be between %s and %s", formatDuration(lo), formatDuration(hi)))
		return 0
	}
	return d
}

// formatDuration writes whole hours as "720h" rather than "720h0m0s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
