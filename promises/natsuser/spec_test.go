package natsuser

import (
	"cmp"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/promisekit/promisekit/internal/crdcheck"
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/promises/natsuser/backend"
)

var crdOnce = sync.OnceValues(func() (*crdcheck.Validator, error) {
	promise, err := os.ReadFile("promise.yaml")
	if err != nil {
		return nil, err
	}
	crd, err := crdcheck.PromiseCRD(promise)
	if err != nil {
		return nil, err
	}
	return crdcheck.Load(crd)
})

func promiseCRD(t *testing.T) *crdcheck.Validator {
	t.Helper()
	v, err := crdOnce()
	if err != nil {
		t.Fatalf("loading the CRD from promise.yaml: %v", err)
	}
	return v
}

// TestSpecValidation runs each request through the CRD, CEL rules included,
// as the API server would, and through the stage's own validation: both
// must accept the valid ones and refuse the others on the same field.
func TestSpecValidation(t *testing.T) {
	long := strings.Repeat("a", 250)
	tests := []struct {
		name  string
		meta  string // metadata.name; default orders-api
		spec  string
		field string // "" when valid
		// goOnly marks rules the CRD cannot state (they depend on
		// metadata.name).
		goOnly bool
	}{
		{name: "empty spec", spec: "{}"},
		{name: "full", spec: `
account: default
publish: {allow: ["orders.>", "a.*.c"], deny: ["orders.secret"]}
subscribe: {allow: [">"], deny: ["$SYS.>"]}
responses: {maxMessages: 3, ttl: 1m30s}
limits: {subscriptions: 10, data: -1, payload: 1048576}
credentials: {lifetime: 24h, renewBefore: 2h}
secret: {name: nats.creds-secret, key: nats.creds}
`},
		{name: "subject with a space", spec: `publish: {allow: ["orders created"]}`, field: "spec.publish.allow[0]"},
		{name: "empty token", spec: `publish: {allow: ["orders..created"]}`, field: "spec.publish.allow[0]"},
		{name: "> not last", spec: `subscribe: {allow: ["orders.>.x"]}`, field: "spec.subscribe.allow[0]"},
		{name: "partial wildcard", spec: `subscribe: {deny: ["orders.cre*"]}`, field: "spec.subscribe.deny[0]"},
		{name: "non-ASCII subject", spec: `publish: {allow: ["bestellungen.größe"]}`, field: "spec.publish.allow[0]"},
		{name: "empty subject", spec: `publish: {allow: [""]}`, field: "spec.publish.allow[0]"},
		{name: "duplicate subject", spec: `publish: {allow: ["a", "a"]}`, field: "spec.publish.allow[1]"},
		{name: "too many subjects", spec: `publish: {allow: [` + strings.Repeat(`"a",`, 64) + `"b"]}`, field: "spec.publish.allow"},
		{name: "subject too long", spec: `publish: {allow: ["` + long + `.` + long + `"]}`, field: "spec.publish.allow[0]"},
		{name: "unknown field", spec: `publish: {allow: ["a"], alow: ["b"]}`, field: "spec.publish.alow"},
		{name: "wrong type", spec: `publish: {allow: "orders.>"}`, field: "spec.publish.allow"},
		{name: "bad account", spec: `account: Team_A`, field: "spec.account"},
		{name: "zero response messages", spec: `responses: {maxMessages: 0}`, field: "spec.responses.maxMessages"},
		{name: "response ttl too long", spec: `responses: {ttl: 25h}`, field: "spec.responses.ttl"},
		{name: "limit below -1", spec: `limits: {payload: -2}`, field: "spec.limits.payload"},
		{name: "lifetime in days", spec: `credentials: {lifetime: 30d}`, field: "spec.credentials.lifetime"},
		{name: "lifetime too short", spec: `credentials: {lifetime: 30m, renewBefore: 10m}`, field: "spec.credentials.lifetime"},
		{name: "lifetime too long", spec: `credentials: {lifetime: 9000h}`, field: "spec.credentials.lifetime"},
		{name: "renewal not before expiry", spec: `credentials: {lifetime: 24h, renewBefore: 24h}`, field: "spec.credentials.renewBefore"},
		// The window must hold six of the Promise's 5m re-run intervals.
		{name: "renewal window of one re-run interval", spec: `credentials: {renewBefore: 5m}`, field: "spec.credentials.renewBefore"},
		{name: "renewal window just short of six intervals", spec: `credentials: {renewBefore: 29m59s}`, field: "spec.credentials.renewBefore"},
		{name: "renewal window of the old minimum", spec: `credentials: {lifetime: 1h, renewBefore: 10m}`, field: "spec.credentials.renewBefore"},
		{name: "renewal window of zero", spec: `credentials: {renewBefore: 0s}`, field: "spec.credentials.renewBefore"},
		{name: "smallest renewal window", spec: `credentials: {lifetime: 1h, renewBefore: 30m}`},
		{name: "smallest renewal window in seconds", spec: `credentials: {lifetime: 2h, renewBefore: 1800s}`},
		{name: "default renewal beyond a short lifetime", spec: `credentials: {lifetime: 48h}`, field: "spec.credentials.renewBefore"},
		{name: "bad secret name", spec: `secret: {name: Orders_Creds}`, field: "spec.secret.name"},
		{name: "secret key ..", spec: `secret: {key: ".."}`, field: "spec.secret.key"},
		{name: "secret key with slash", spec: `secret: {key: "a/b"}`, field: "spec.secret.key"},
		{name: "default secret name too long", meta: strings.Repeat("x", 250), spec: "{}", field: "metadata.name", goOnly: true},
	}
	crd := promiseCRD(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := newRequest(cmp.Or(tt.meta, "orders-api"), tt.spec)

			problems := crd.Validate(obj)
			switch {
			case tt.goOnly:
			case tt.field == "" && len(problems) > 0:
				t.Errorf("the CRD refuses a valid request: %v", problems)
			case tt.field != "" && !anyContains(problems, tt.field):
				t.Errorf("the CRD reports %v, want a problem with %s", problems, tt.field)
			}

			parsed, err := kratix.ParseObject(obj)
			if err != nil {
				t.Fatal(err)
			}
			_, err = decodeRequest(parsed)
			switch {
			case tt.field == "" && err != nil:
				t.Errorf("the stage refuses a valid request: %v", err)
			case tt.field != "" && !hasField(err, tt.field):
				t.Errorf("the stage reports %v, want an error on %s", err, tt.field)
			}
		})
	}
}

func anyContains(list []string, s string) bool {
	for _, l := range list {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// hasField reports whether err is a field error, or a list of them, naming
// field.
func hasField(err error, field string) bool {
	var fe *kratix.FieldError
	if errors.As(err, &fe) && fe.Field == field {
		return true
	}
	var list kratix.FieldErrors
	if errors.As(err, &list) {
		for _, fe := range list {
			if fe.Field == field {
				return true
			}
		}
	}
	return false
}

// TestSpecDefaults: what an empty spec means, in the CRD's defaults and in
// the stage's.
func TestSpecDefaults(t *testing.T) {
	obj, err := kratix.ParseObject(newRequest("orders-api", "{}"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := decodeRequest(obj)
	if err != nil {
		t.Fatal(err)
	}
	want := &request{
		account:     "default",
		renewBefore: 240 * time.Hour,
		secretName:  "orders-api-nats",
		secretKey:   "user.creds",
		settings: backend.Settings{
			Limits:   backend.Limits{Subscriptions: -1, Data: -1, Payload: -1},
			Lifetime: 720 * time.Hour,
		},
	}
	if r.account != want.account || r.renewBefore != want.renewBefore || r.secretName != want.secretName ||
		r.secretKey != want.secretKey || !r.settings.Equal(want.settings) {
		t.Errorf("defaults %+v, want %+v", r, want)
	}
	promise, err := os.ReadFile("promise.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"default: default", "default: 720h", "default: 240h", "default: user.creds", "default: 2m"} {
		if !strings.Contains(string(promise), d) {
			t.Errorf("promise.yaml lacks %q, which the stage's defaults assume", d)
		}
	}
}

func TestExamplesAreValid(t *testing.T) {
	crd := promiseCRD(t)
	files, err := os.ReadDir("examples")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile("examples/" + f.Name())
		if err != nil {
			t.Fatal(err)
		}
		if problems := crd.Validate(data); len(problems) > 0 {
			t.Errorf("%s: the CRD refuses it: %v", f.Name(), problems)
		}
		obj, err := kratix.ParseObject(data)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeRequest(obj); err != nil {
			t.Errorf("%s: %v", f.Name(), err)
		}
	}
}
