package natsuser

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/devkeys"
	"github.com/promisekit/promisekit/internal/stagetest"
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/overlays/pass"
	"github.com/promisekit/promisekit/promises/natsuser/internal/natstest"
)

// placementEnv is a self-hosted NATS account, served by a nats-server, and
// two destinations whose sealed-secrets controllers each have a key of
// their own, as devkeys writes them for the demo.
type placementEnv struct {
	keys *devkeys.Keys
	nats *natstest.Server
	// key holds each destination's controller key, by name.
	key map[string]*controllerKey
}

func newPlacement(t *testing.T) *placementEnv {
	t.Helper()
	k, err := devkeys.Generate(t.TempDir(), devkeys.Options{Bits: 2048, Destinations: []string{"cluster-a", "cluster-b"}})
	if err != nil {
		t.Fatal(err)
	}
	e := &placementEnv{keys: k, key: map[string]*controllerKey{}}
	for _, d := range k.Destinations {
		priv, err := d.SealingKey()
		if err != nil {
			t.Fatal(err)
		}
		pemData, err := os.ReadFile(d.CertificateFile)
		if err != nil {
			t.Fatal(err)
		}
		e.key[d.Name] = newControllerKeyFrom(t, priv, pemData)
	}
	if e.key["cluster-a"].fp == e.key["cluster-b"].fp {
		t.Fatal("the two destinations share a sealing key")
	}
	op, acct := readFile(t, k.OperatorJWTFile), readFile(t, k.AccountJWTFile)
	e.nats = natstest.Start(t, strings.TrimSpace(op), strings.TrimSpace(acct))
	return e
}

// config writes the set's configuration, changed by edit, and returns its
// path.
func (e *placementEnv) config(t *testing.T, edit func(cfg map[string]any)) string {
	t.Helper()
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(readFile(t, e.keys.ConfigFile)), &cfg); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(cfg)
	}
	data, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "config.yaml")
	writeFile(t, file, string(data))
	return file
}

// destination returns the configuration's destination called name, to edit.
func destination(cfg map[string]any, name string) map[string]any {
	for _, d := range cfg["destinations"].([]any) {
		if d := d.(map[string]any); d["name"] == name {
			return d
		}
	}
	panic("no destination " + name)
}

func (e *placementEnv) harness(t *testing.T, name, spec, config string) *stagetest.Harness {
	h := stagetest.New(t, "natsuser", Workflows(Outside{Overlays: pass.Run}), workflow, newRequest(name, spec))
	h.Env["PROMISEKIT_CONFIG"] = config
	// nats-server checks expiry against the wall clock.
	h.Now = time.Now().UTC().Truncate(time.Second)
	return h
}

// placed returns the request's SealedSecret, which must be the one output
// file, in the directory of destination dest, with the selector that sends
// that directory to dest's cluster alone.
func (e *placementEnv) placed(t *testing.T, out *stagetest.Outcome, name, dest string) []byte {
	t.Helper()
	file := dest + "/sealedsecret_team-orders_" + name + "-nats.yaml"
	if len(out.Files) != 1 || out.Files[file] == nil {
		t.Fatalf("output %v, want %s alone", keys(out.Files), file)
	}
	var sels []kratix.DestinationSelector
	if err := yaml.UnmarshalStrict(out.Selectors, &sels); err != nil {
		t.Fatalf("destination-selectors.yaml: %v\n%s", err, out.Selectors)
	}
	want := []kratix.DestinationSelector{{Directory: dest, MatchLabels: map[string]string{devkeys.DestinationLabel: dest}}}
	if !reflect.DeepEqual(sels, want) {
		t.Fatalf("destination selectors %+v, want %+v", sels, want)
	}
	return out.Files[file]
}

// opensOnlyWith unseals manifest with sealed-secrets' own code as the
// controller of dest would, requires every other destination's controller
// to fail, and returns the credentials.
func (e *placementEnv) opensOnlyWith(t *testing.T, manifest []byte, dest string) []byte {
	t.Helper()
	for name, k := range e.key {
		data, err := unsealWith(t, manifest, k)
		switch {
		case name == dest && err != nil:
			t.Fatalf("the controller of %s cannot open its SealedSecret: %v", dest, err)
		case name == dest:
			if len(data) != 1 || len(data[DefaultSecretKey]) == 0 {
				t.Fatalf("Secret keys %v, want only %s", keys(data), DefaultSecretKey)
			}
			return data[DefaultSecretKey]
		case err == nil:
			t.Fatalf("the controller of %s opened the SealedSecret placed on %s", name, dest)
		}
	}
	t.Fatalf("no destination %s", dest)
	return nil
}

// TestPlacementTwoDestinations: two NATSUsers on two clusters whose
// controllers have different keys. Each SealedSecret goes to its own
// cluster's directory with a selector for that cluster alone, and only
// that cluster's controller opens it. Moving a request to the other
// cluster moves its file there and seals new credentials for the new key.
func TestPlacementTwoDestinations(t *testing.T) {
	e := newPlacement(t)
	config := e.config(t, func(cfg map[string]any) {
		destination(cfg, "cluster-b")["natsURL"] = "nats://nats.cluster-b.example:4222"
	})
	orders := e.harness(t, "orders-api", ordersSpec, config) // the default destination, cluster-a
	metrics := e.harness(t, "metrics-reader", ordersSpec+"destination: cluster-b\n", config)

	first := map[*stagetest.Harness]*stagetest.Outcome{}
	for h, dest := range map[*stagetest.Harness]string{orders: "cluster-a", metrics: "cluster-b"} {
		out := configure(t, h)
		first[h] = out
		creds := e.opensOnlyWith(t, e.placed(t, out, h.Object["metadata"].(map[string]any)["name"].(string), dest), dest)
		checkCredentials(t, e.nats, creds, "orders.events.created", "payments.charge")
		if got := h.Status()[statusDestination]; got != dest {
			t.Errorf("status.destination %v, want %s", got, dest)
		}
		if got := storedState(t, h).Destination; got != dest {
			t.Errorf("state records destination %q, want %s", got, dest)
		}
		if msg := h.Status()["message"].(string); !strings.Contains(msg, "on destination "+dest) {
			t.Errorf("message %q does not name the destination", msg)
		}
	}
	if got := metrics.Status()[statusNATSURL]; got != "nats://nats.cluster-b.example:4222" {
		t.Errorf("cluster-b's status.natsURL %v, want the destination's", got)
	}
	if got := orders.Status()[statusNATSURL]; got != devkeys.DefaultNATSURL {
		t.Errorf("cluster-a's status.natsURL %v, want the account's", got)
	}
	rerunUnchanged(t, orders, first[orders].Files, 2)

	// The team moves orders-api to cluster-b.
	before := storedState(t, orders)
	setSpec(t, orders, ordersSpec+"destination: cluster-b\n")
	moved := configure(t, orders)
	if msg := orders.Status()["message"].(string); !strings.Contains(msg, "new credentials (moved to destination cluster-b)") {
		t.Errorf("message %q", msg)
	}
	creds := e.opensOnlyWith(t, e.placed(t, moved, "orders-api", "cluster-b"), "cluster-b")
	checkCredentials(t, e.nats, creds, "orders.events.created", "payments.charge")
	after := storedState(t, orders)
	if after.Destination != "cluster-b" || after.Sealed.KeyFingerprint != e.key["cluster-b"].fp {
		t.Errorf("state after the move: destination %q, sealed with %s", after.Destination, after.Sealed.KeyFingerprint)
	}
	// A self-hosted user gets a new key; the old one stays valid until it
	// expires, and is listed for the platform to revoke.
	if len(after.ReplacedKeys) != 1 || after.ReplacedKeys[0].UserPublicKey != before.UserPublicKey {
		t.Errorf("replaced keys %+v, want the key used on cluster-a (%s)", after.ReplacedKeys, before.UserPublicKey)
	}
	rerunUnchanged(t, orders, moved.Files, 2)

	// The platform makes cluster-b the default: metrics-reader names it and
	// stays; a request that names no destination follows the default.
	config = e.config(t, func(cfg map[string]any) { cfg["defaultDestination"] = "cluster-b" })
	metrics.Env["PROMISEKIT_CONFIG"] = config
	if out := configure(t, metrics); !sameBytes(out.Files, first[metrics].Files) {
		t.Error("a new default moved a request that names its destination")
	}
	billing := e.harness(t, "billing", ordersSpec, config)
	e.opensOnlyWith(t, e.placed(t, configure(t, billing), "billing", "cluster-b"), "cluster-b")
}

// TestPlacementSharedKey: destinations whose controllers share a key
// (a platform that brings its own key to every cluster) take the stored
// ciphertext as it is: a move changes the directory and the selector, not
// the credentials.
func TestPlacementSharedKey(t *testing.T) {
	e := newPlacement(t)
	a := e.keys.Destinations[0]
	config := e.config(t, func(cfg map[string]any) {
		destination(cfg, "cluster-b")["sealing"] = map[string]any{"certificate": a.CertificateFile, "sha256": a.CertificateSHA256}
	})
	h := e.harness(t, "orders-api", ordersSpec, config)
	first := configure(t, h)
	sealedA := e.placed(t, first, "orders-api", "cluster-a")
	setSpec(t, h, ordersSpec+"destination: cluster-b\n")
	moved := configure(t, h)
	if string(e.placed(t, moved, "orders-api", "cluster-b")) != string(sealedA) {
		t.Error("the SealedSecret changed, though both clusters hold the key it was sealed with")
	}
	if msg := h.Status()["message"].(string); strings.Contains(msg, "new credentials") {
		t.Errorf("message %q: credentials were issued again", msg)
	}
	if got := storedState(t, h).Destination; got != "cluster-b" {
		t.Errorf("state records destination %q", got)
	}
}

// TestPlacementSingleDestination: a configuration without destinations
// writes what it always wrote: the SealedSecret at the top of the output,
// no destination selectors, no destination in status or state.
func TestPlacementSingleDestination(t *testing.T) {
	e := newSelfHosted(t)
	h := e.harness(t, "orders-api", ordersSpec)
	out := configure(t, h)
	sealedSecret(t, out)
	if out.Selectors != nil {
		t.Errorf("destination-selectors.yaml written:\n%s", out.Selectors)
	}
	if _, ok := h.Status()[statusDestination]; ok {
		t.Error("status.destination written")
	}
	if strings.Contains(string(out.StatusYAML), "destination") {
		t.Errorf("status mentions a destination:\n%s", out.StatusYAML)
	}
}

// TestPlacementConfig: every mistake in config.destinations names its
// field.
func TestPlacementConfig(t *testing.T) {
	const a = `{name: a, matchLabels: {cluster: a}, requestable: true, sealing: {certificate: /a.pem}}`
	// The rules every promise's destinations share are package placement's
	// (and its tests'); a repeated name shows they are applied here.
	tests := []struct {
		name, file, want string
	}{
		{"valid", "destinations: [" + a + ", {name: b, matchLabels: {cluster: b}, sealing: {certificate: /b.pem}}]\ndefaultDestination: b\n", ""},
		{"only requestable destinations, no default", "destinations: [" + a + "]\n", ""},
		{"repeated name", "destinations: [" + a + ", {name: a, matchLabels: {cluster: b}, sealing: {certificate: /b.pem}}]", "config.destinations[1].name: repeats config.destinations[0].name"},
		{"no certificate", "destinations: [{name: a, matchLabels: {cluster: a}, requestable: true}]", "config.destinations[0].sealing.certificate: must name the certificate"},
		{"a scope per destination", "destinations: [{name: a, matchLabels: {cluster: a}, requestable: true, sealing: {certificate: /a.pem, scope: cluster-wide}}]", "config.destinations[0].sealing.scope: unknown field"},
		{"one certificate for every destination", "sealing: {certificate: /one.pem}\ndestinations: [" + a + "]\n", "config.sealing.certificate: with config.destinations, each destination names"},
		{"one pin for every destination", "sealing: {sha256: abcd}\ndestinations: [" + a + "]\n", "config.sealing.sha256: with config.destinations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "config.yaml")
			writeFile(t, file, tt.file)
			_, err := loadConfig(file)
			switch {
			case tt.want == "" && err != nil:
				t.Fatal(err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestPlacementRefusals: a request naming a destination the platform does
// not offer it is refused on spec.destination, and so is one that names
// a destination where the platform has only one; a malformed name is
// already refused at admission.
func TestPlacementRefusals(t *testing.T) {
	e := newPlacement(t)
	onlyDefault := e.config(t, func(cfg map[string]any) { destination(cfg, "cluster-b")["requestable"] = false })
	noDefault := e.config(t, func(cfg map[string]any) { delete(cfg, "defaultDestination") })
	missingCert := e.config(t, func(cfg map[string]any) {
		destination(cfg, "cluster-b")["sealing"] = map[string]any{"certificate": "/nowhere/cluster-b.pem"}
	})
	single := testKeys(t).ConfigFile
	tests := []struct {
		name, destination, config, want string
	}{
		{"unknown destination", "cluster-c", e.keys.ConfigFile, `spec.destination: "cluster-c" is not a destination a request may choose on this platform (choose one of cluster-a, cluster-b)`},
		{"destination not requestable", "cluster-b", onlyDefault, `spec.destination: "cluster-b" is not a destination a request may choose on this platform (choose one of cluster-a)`},
		{"no destination and no default", "", noDefault, "spec.destination: required: this platform has no default destination; choose one of cluster-a, cluster-b"},
		{"a platform of one destination", "cluster-a", single, "spec.destination: this platform has one destination for every NATS user: leave it out"},
		{"the destination's certificate is not mounted", "cluster-b", missingCert, "/nowhere/cluster-b.pem: no such file or directory: mount the certificate of destination cluster-b's sealed-secrets controller there (or name it in config.destinations[1].sealing.certificate)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := ordersSpec
			if tt.destination != "" {
				spec += "destination: " + tt.destination + "\n"
			}
			h := e.harness(t, "orders-api", spec, tt.config)
			out := h.Configure(context.Background())
			if out.Err == nil || !strings.Contains(out.Err.Error(), tt.want) || strings.HasPrefix(tt.want, "spec.") && !strings.HasPrefix(out.Err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", out.Err, tt.want)
			}
			if len(out.Files) != 0 || out.Selectors != nil {
				t.Errorf("a refused run wrote %v and selectors %q", keys(out.Files), out.Selectors)
			}
		})
	}

	crd := promiseCRD(t)
	for _, d := range []string{"Cluster_A", "../cluster-a", strings.Repeat("a", 64)} {
		problems := crd.Validate(newRequest("orders-api", "destination: \""+d+"\"\n"))
		if len(problems) == 0 || !strings.Contains(strings.Join(problems, "; "), "spec.destination") {
			t.Errorf("destination %q: the CRD says %v", d, problems)
		}
	}
	if problems := crd.Validate(newRequest("orders-api", "destination: cluster-b\n")); len(problems) > 0 {
		t.Errorf("the CRD refuses a destination: %v", problems)
	}
}
