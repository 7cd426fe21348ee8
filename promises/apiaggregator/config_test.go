package apiaggregator

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/promisekit/promisekit/pkg/platformconfig"
)

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name string
		file string // "-" for no file
		want func(Config) bool
		err  string // substring of the error; "" for success
	}{
		{"no file gives the defaults", "-", func(c Config) bool {
			return c.GatewayClassName == "eg" && c.Implementation == EnvoyGateway && c.PlatformAPI == APIAuto && c.CertManager.Kind == "ClusterIssuer"
		}, ""},
		{"empty file gives the defaults", "", func(c Config) bool { return c.GatewayClassName == "eg" }, ""},
		{"fields override the defaults, others stay", "implementation: kgateway\ncertManager:\n  name: letsencrypt\n", func(c Config) bool {
			return c.Implementation == KGateway && c.GatewayClassName == "eg" && c.CertManager == IssuerRef{Kind: "ClusterIssuer", Name: "letsencrypt"}
		}, ""},
		{"every field", "gatewayClassName: internal\ngatewayNamespace: gateways\nimplementation: none\ncertManager: {kind: Issuer, name: ca}\ndestinationSelector: {gateway: public}\nplatformAPI: \"off\"\ncrossNamespaceBackends: true\n", func(c Config) bool {
			return c.GatewayNamespace == "gateways" && c.Implementation == NoImplementation && c.PlatformAPI == APIOff && c.CrossNamespaceBackends && c.DestinationSelector["gateway"] == "public"
		}, ""},
		{"unknown field", "gatewayclass: eg\n", nil, "config.gatewayclass: unknown field"},
		{"duplicate field", "implementation: kgateway\nimplementation: kgateway\n", nil, "implementation"},
		{"wrong type", "crossNamespaceBackends: yes-please\n", nil, "config.crossNamespaceBackends"},
		{"unknown implementation", "implementation: istio\n", nil, "config.implementation: must be one of"},
		{"bad class name", "gatewayClassName: Envoy Gateway\n", nil, "config.gatewayClassName"},
		{"empty class name", "gatewayClassName: \"\"\n", nil, "config.gatewayClassName: must not be empty"},
		{"bad namespace", "gatewayNamespace: Gateways\n", nil, "config.gatewayNamespace"},
		{"bad issuer kind", "certManager: {kind: Vault}\n", nil, "config.certManager.kind"},
		{"bad destination label", "destinationSelector: {\"bad key!\": x}\n", nil, "config.destinationSelector[bad key!]"},
		{"shared gateway", "sharedGateway: {namespace: gateways, name: shared}\n", func(c Config) bool {
			return c.SharedGateway != nil && *c.SharedGateway == GatewayRef{Namespace: "gateways", Name: "shared"}
		}, ""},
		{"shared gateway without a name", "sharedGateway: {namespace: gateways}\n", nil, "config.sharedGateway.name"},
		{"bad api mode", "platformAPI: sometimes\n", nil, "config.platformAPI"},
		{"not YAML", "gatewayClassName: [\n", nil, "platform configuration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			if tt.file != "-" {
				if err := os.WriteFile(path, []byte(tt.file), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.file == "-" {
				// No file named: the default path, which the Promise
				// mounts optionally.
				if _, err := os.Stat(platformconfig.DefaultPath); err == nil {
					t.Skipf("%s exists on this machine", platformconfig.DefaultPath)
				}
				path = ""
			}
			cfg, err := loadConfig(path)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("loadConfig: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("loadConfig error = %v, want it to contain %q", err, tt.err)
			case tt.err != "" && !strings.Contains(err.Error(), path):
				t.Errorf("error %q does not name the file", err)
			case tt.want != nil && !tt.want(cfg):
				t.Errorf("loadConfig = %+v", cfg)
			}
		})
	}
}

// A configuration file that cannot be read is an error, not the defaults:
// the defaults could render a Gateway the platform did not ask for.
func TestLoadConfigUnreadable(t *testing.T) {
	dir := t.TempDir() // a directory is not a readable file
	_, err := loadConfig(dir)
	if err == nil {
		t.Fatal("loadConfig of a directory succeeded")
	}
}

// loadConfig reads the platform configuration at path as both stages do.
func loadConfig(path string) (Config, error) {
	cfg, err := configFile.Load(path)
	if err != nil {
		return Config{}, err
	}
	return *cfg, nil
}
