package devkeys

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/pkg/sealing"
)

// TestGenerateDestinations: each destination gets a sealing key pair of
// its own, and the configuration places requests on them, each with its
// own certificate.
func TestGenerateDestinations(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	names := []string{"cluster-a", "cluster-b"}
	k, err := Generate(dir, Options{Bits: 2048, Destinations: names})
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Destinations) != 2 {
		t.Fatalf("destinations %+v", k.Destinations)
	}
	seen := map[string]bool{k.CertificateSHA256: true}
	for i, d := range k.Destinations {
		if d.Name != names[i] || d.Labels[DestinationLabel] != d.Name || len(d.Labels) != 1 {
			t.Errorf("destination %d: %+v", i, d)
		}
		cert, err := sealing.LoadCertificate(d.CertificateFile, time.Now().Add(-300*24*time.Hour), d.CertificateSHA256)
		if err != nil {
			t.Fatal(err)
		}
		key, err := d.SealingKey()
		if err != nil {
			t.Fatal(err)
		}
		if !key.PublicKey.Equal(cert.Key) {
			t.Errorf("%s: the private key does not belong to the certificate", d.Name)
		}
		if seen[d.CertificateSHA256] {
			t.Errorf("%s shares a certificate", d.Name)
		}
		seen[d.CertificateSHA256] = true
		if info, err := os.Stat(d.PrivateKeyFile); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: private key %v, %v", d.Name, info, err)
		}
	}

	var cfg struct {
		Sealing            map[string]any `json:"sealing"`
		DefaultDestination string         `json:"defaultDestination"`
		Destinations       []struct {
			Name        string            `json:"name"`
			MatchLabels map[string]string `json:"matchLabels"`
			Requestable bool              `json:"requestable"`
			Sealing     struct {
				Certificate string `json:"certificate"`
				SHA256      string `json:"sha256"`
			} `json:"sealing"`
		} `json:"destinations"`
	}
	data, err := os.ReadFile(k.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Sealing != nil || cfg.DefaultDestination != "cluster-a" || len(cfg.Destinations) != 2 {
		t.Fatalf("configuration:\n%s", data)
	}
	for i, d := range cfg.Destinations {
		want := k.Destinations[i]
		if d.Name != want.Name || d.MatchLabels[DestinationLabel] != want.Name || !d.Requestable ||
			d.Sealing.Certificate != want.CertificateFile || d.Sealing.SHA256 != want.CertificateSHA256 {
			t.Errorf("configured destination %d: %+v, want %+v", i, d, want)
		}
	}

	// A second call reuses the set; one for other destinations is refused.
	again, err := Generate(dir, Options{Bits: 2048, Destinations: names})
	if err != nil || again.Destinations[1].CertificateSHA256 != k.Destinations[1].CertificateSHA256 {
		t.Fatalf("reuse: %+v, %v", again, err)
	}
	if _, err := Generate(dir, Options{Bits: 2048, Destinations: names[:1]}); err == nil || !strings.Contains(err.Error(), "-force") {
		t.Fatalf("other destinations: %v", err)
	}
	if _, err := Generate(dir, Options{Bits: 2048, Destinations: []string{"Cluster_A"}}); err == nil {
		t.Fatal("a destination name that is no DNS label was accepted")
	}
}
