package environment

import (
	"strings"
	"testing"
	"time"

	"github.com/promisekit/promisekit/internal/stagetest"
)

func TestLoadConfigDefaults(t *testing.T) {
	cfg, err := loadConfig(stagetest.EmptyConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AWS.Mode != AWSNone {
		t.Errorf("default AWS mode %q: the defaults must make no outside call", cfg.AWS.Mode)
	}
	for name, q := range cfg.Quotas {
		if q.Hard["services.loadbalancers"] != "0" || q.Hard["services.nodeports"] != "0" {
			t.Errorf("quota %s allows load balancers or node ports", name)
		}
	}
	if cfg.deadline() != defaultTimeout || cfg.PlatformAPITimeout.Or(defaultPlatformAPITimeout) != defaultPlatformAPITimeout || cfg.AWS.AttemptTimeout.Or(defaultAWSAttemptTimeout) != defaultAWSAttemptTimeout {
		t.Errorf("time limits %s, %s, %s; want the defaults", cfg.deadline(), cfg.PlatformAPITimeout.Or(defaultPlatformAPITimeout), cfg.AWS.AttemptTimeout.Or(defaultAWSAttemptTimeout))
	}
	set, err := loadConfig(writeConfig(t, "timeout: 90s\nplatformAPITimeout: 5s\naws: {attemptTimeout: 2s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if set.deadline() != 90*time.Second || set.PlatformAPITimeout.Or(defaultPlatformAPITimeout) != 5*time.Second || set.AWS.AttemptTimeout.Or(defaultAWSAttemptTimeout) != 2*time.Second {
		t.Errorf("time limits %s, %s, %s; want the file's", set.deadline(), set.PlatformAPITimeout.Or(defaultPlatformAPITimeout), set.AWS.AttemptTimeout.Or(defaultAWSAttemptTimeout))
	}
}

// TestLoadConfigOverlay shows the file's effect: a named type replaces the
// default of that name whole, other types stay, and a nested field
// replaces only itself.
func TestLoadConfigOverlay(t *testing.T) {
	file := writeConfig(t, `
types:
  preview:
    isolation: namespace
    quota: large
    teamRole: admin
aws:
  repository:
    retention: retain
`)
	cfg, err := loadConfig(file)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Types["preview"]; got.Quota != "large" || got.DefaultTTL != "" || got.TeamRole != "admin" {
		t.Errorf("preview = %+v, want the file's type whole (no default TTL)", got)
	}
	if _, ok := cfg.Types["development"]; !ok {
		t.Error("the default development type is gone")
	}
	if r := cfg.AWS.Repository; r.Retention != "retain" || r.Prefix != "environments" || !r.ScanOnPush {
		t.Errorf("repository = %+v, want retention replaced and the rest default", r)
	}
}

func TestLoadConfigRefusesMistakes(t *testing.T) {
	tests := []struct {
		name, config, want string
	}{
		{"unknown field", "namespace: {podSecurty: restricted}", "config.namespace.podSecurty: unknown field"},
		{"unknown isolation", "types: {x: {isolation: cluster, quota: small}}", `config.types.x.isolation: "cluster": want namespace or vcluster`},
		{"missing quota profile", "types: {x: {isolation: vcluster, quota: huge}}", `config.types.x.quota: no quota profile "huge"`},
		{"namespace type without team role", "types: {x: {isolation: namespace, quota: small}}", "config.types.x.teamRole: required for namespace isolation"},
		{"bad quantity", `quotas: {small: {hard: {requests.cpu: two}}}`, `config.quotas.small.hard.requests.cpu: "two" is not a quantity`},
		{"bad default ttl", "types: {x: {isolation: vcluster, quota: small, defaultTTL: 1y}}", `config.types.x.defaultTTL: "1y"`},
		{"api mode without account", "aws: {mode: api, oidcIssuer: https://oidc.example}", "config.aws.accountID: required"},
		{"irsa without issuer", `aws: {mode: ack, accountID: "123456789012"}`, "config.aws.oidcIssuer: required for IRSA"},
		{"pod identity without cluster", `aws: {mode: ack, accountID: "123456789012", podIdentity: {enabled: true}}`, "config.aws.podIdentity.clusterName: required"},
		{"unknown retention", `aws: {mode: api, accountID: "123456789012", oidcIssuer: https://o, repository: {retention: keep}}`, `config.aws.repository.retention: "keep"`},
		{"unknown mode", "aws: {mode: terraform}", `config.aws.mode: "terraform": want none, api or ack`},
		{"pod security", "namespace: {podSecurity: strict}", `config.namespace.podSecurity: "strict"`},
		{"duplicate key", "maxTTL: 1h\nmaxTTL: 2h\n", `key "maxTTL" already set`},
		{"run timeout not a duration", "timeout: soon", `config.timeout: "soon" is not a positive duration`},
		{"platform API timeout without a unit", "platformAPITimeout: \"30\"", `config.platformAPITimeout: "30" is not a positive duration`},
		{"zero AWS attempt timeout", "aws: {attemptTimeout: 0s}", `config.aws.attemptTimeout: "0s" is not a positive duration`},
		{"negative AWS attempt timeout", "aws: {attemptTimeout: -1s}", `config.aws.attemptTimeout: "-1s" is not a positive duration`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeConfig(t, tt.config)
			_, err := loadConfig(file)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseTTL(t *testing.T) {
	tests := []struct {
		in   string
		want string // as time.Duration prints it; "" for an error
	}{
		{"90m", "1h30m0s"}, {"12h", "12h0m0s"}, {"7d", "168h0m0s"},
		{"0h", ""}, {"1.5h", ""}, {"1w", ""}, {"-1h", ""}, {"", ""}, {"1234567d", ""},
		// Past what a Duration holds: the longest one, never a wrapped-around value.
		{"106751d", "2562024h0m0s"}, {"106752d", "2562047h47m16.854775807s"}, {"999999d", "2562047h47m16.854775807s"},
	}
	for _, tt := range tests {
		d, err := parseTTL(tt.in)
		got := ""
		if err == nil {
			got = d.String()
		}
		if got != tt.want {
			t.Errorf("parseTTL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
