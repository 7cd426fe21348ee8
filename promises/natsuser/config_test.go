package natsuser

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		wantErr string // "" when valid
		check   func(t *testing.T, c *Config)
	}{
		{name: "empty file keeps the defaults", file: "", check: func(t *testing.T, c *Config) {
			a := c.Accounts[DefaultAccount]
			if a.SelfHosted == nil || a.SelfHosted.SigningKeyFile != DefaultSigningKeyPath || c.Sealing.Certificate != DefaultCertificatePath {
				t.Errorf("defaults %+v", c)
			}
		}},
		{name: "accounts replace the default", file: `
accounts:
  cloud:
    synadia: {accountID: 2abc, signingKeyGroup: Default}
`, check: func(t *testing.T, c *Config) {
			if len(c.Accounts) != 1 || c.Accounts["cloud"].Synadia == nil || c.Synadia == nil {
				t.Errorf("accounts %+v, synadia %+v", c.Accounts, c.Synadia)
			}
		}},
		{name: "unknown field", file: "sealing: {certifcate: x}", wantErr: "config.sealing.certifcate: unknown field"},
		{name: "both backends", file: `
accounts:
  a: {selfHosted: {signingKeyFile: k}, synadia: {accountID: x, signingKeyGroup: g}}
`, wantErr: "config.accounts.a: must set exactly one"},
		{name: "no backend", file: "accounts: {a: {natsURL: nats://x}}", wantErr: "config.accounts.a: must set exactly one"},
		{name: "bad account public key", file: "accounts: {a: {selfHosted: {signingKeyFile: k, accountPublicKey: UABC}}}", wantErr: "config.accounts.a.selfHosted.accountPublicKey"},
		{name: "synadia without account ID", file: "accounts: {a: {synadia: {signingKeyGroup: g}}}", wantErr: "config.accounts.a.synadia.accountID"},
		{name: "bad duration", file: "synadia: {timeout: soon}", wantErr: "config.synadia.timeout"},
		{name: "bad scope", file: "sealing: {scope: everywhere}", wantErr: "config.sealing.scope"},
		{name: "bad account name", file: "accounts: {Team_A: {selfHosted: {signingKeyFile: k}}}", wantErr: "config.accounts.Team_A"},
		{name: "duplicate key", file: "userNamePrefix: a\nuserNamePrefix: b\n", wantErr: "userNamePrefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "config.yaml")
			writeFile(t, file, tt.file)
			loaded, err := loadConfig(file)
			var cfg Config
			if loaded != nil {
				cfg = *loaded
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatal(err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			case tt.check != nil:
				tt.check(t, &cfg)
			}
		})
	}
}

// TestRefusals: a run that cannot proceed fails with one line naming what
// to fix, and writes nothing.
func TestRefusals(t *testing.T) {
	e := newSelfHosted(t)
	dir := t.TempDir()
	noCert := filepath.Join(dir, "no-cert.yaml")
	writeFile(t, noCert, strings.Replace(readFile(t, e.keys.ConfigFile), e.keys.CertificateFile, filepath.Join(dir, "missing.pem"), 1))
	noKey := filepath.Join(dir, "no-key.yaml")
	writeFile(t, noKey, strings.Replace(readFile(t, e.keys.ConfigFile), e.keys.SigningKeyFile, filepath.Join(dir, "missing.nk"), 1))
	wrongPin := filepath.Join(dir, "wrong-pin.yaml")
	writeFile(t, wrongPin, strings.Replace(readFile(t, e.keys.ConfigFile), e.keys.CertificateSHA256, strings.Repeat("ab", 32), 1))

	tests := []struct {
		name   string
		spec   string
		config string
		want   string
	}{
		{"invalid spec", `publish: {allow: ["a b"]}`, e.keys.ConfigFile, "spec.publish.allow[0]: "},
		{"unknown account", `account: payments`, e.keys.ConfigFile, `spec.account: this platform has no NATS account "payments" (it has: default)`},
		{"no sealing certificate", ordersSpec, noCert, "missing.pem: no such file or directory: mount the sealed-secrets controller's certificate"},
		{"certificate pin mismatch", ordersSpec, wrongPin, "does not match the pinned"},
		{"no signing key", ordersSpec, noKey, `account "default": reading NATS account signing key: stat ` + filepath.Join(dir, "missing.nk")},
		{"no configuration and nothing mounted", ordersSpec, "", DefaultCertificatePath + ": no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := e.harness(t, "orders-api", tt.spec)
			h.Env["PROMISEKIT_CONFIG"] = tt.config
			out := h.Configure(context.Background())
			if out.Err == nil || !strings.Contains(out.Err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", out.Err, tt.want)
			}
			if strings.ContainsAny(out.Err.Error(), "\r\n") {
				t.Errorf("error is not one line: %q", out.Err)
			}
			if len(out.Files) != 0 || out.StatusYAML != nil {
				t.Errorf("a refused run wrote %v and status %q", keys(out.Files), out.StatusYAML)
			}
			checkNoLeaks(t, out)
		})
	}
}

func TestAccountCannotChange(t *testing.T) {
	e := newSelfHosted(t)
	h := e.harness(t, "orders-api", ordersSpec)
	configure(t, h)
	setSpec(t, h, "account: other")
	out := h.Configure(context.Background())
	if out.Err == nil || !strings.HasPrefix(out.Err.Error(), `spec.account: cannot change from "default" to "other"`) {
		t.Fatalf("error %v", out.Err)
	}
}

func TestSecretMoves(t *testing.T) {
	e := newSelfHosted(t)
	h := e.harness(t, "orders-api", ordersSpec)
	first := configure(t, h)
	setSpec(t, h, ordersSpec+"secret: {name: orders-nats, key: nats.creds}\n")
	out := configure(t, h)
	if !strings.Contains(h.Status()["message"].(string), "Secret changed") {
		t.Errorf("message %q", h.Status()["message"])
	}
	if _, ok := out.Files["sealedsecret_team-orders_orders-nats.yaml"]; !ok || len(out.Files) != 1 {
		t.Fatalf("output %v", keys(out.Files))
	}
	if sameBytes(out.Files, first.Files) {
		t.Fatal("output unchanged")
	}
	key, err := e.keys.SealingKey()
	if err != nil {
		t.Fatal(err)
	}
	data := unseal(t, out.Files["sealedsecret_team-orders_orders-nats.yaml"], key)
	checkCredentials(t, e.nats, data["nats.creds"], "orders.events.created", "payments.charge")
}
