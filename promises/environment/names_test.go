package environment

import (
	"regexp"
	"strings"
	"testing"

	"github.com/promisekit/promisekit/pkg/k8sname"
)

// TestShortName's hashed case was computed apart from this code (SHA-256
// with Python's hashlib).
func TestShortName(t *testing.T) {
	long := strings.Repeat("a", 60) + "-" + strings.Repeat("b", 10)
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"default-dev", 63, "default-dev"},
		{long, 63, strings.Repeat("a", 54) + "-4f73ea53"},
		{long[:63], 63, long[:63]},
	}
	for _, tt := range tests {
		got := shortName(tt.in, tt.max)
		if got != tt.want || len(got) > tt.max {
			t.Errorf("shortName(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
	if shortName(long+"x", 63) == shortName(long+"y", 63) {
		t.Error("two long names that share a beginning gave the same short name")
	}
}

// TestVClusterHostName pins vcluster's translation of synced names
// (translate.SafeConcatName in loft-sh/vcluster v0.36.1: join with "-";
// over 63 characters, the first 52, "-" and 10 hex digits of the SHA-256 of
// the whole). The hashed case was computed apart from this code, with
// Python's hashlib.
func TestVClusterHostName(t *testing.T) {
	tests := []struct{ name, namespace, vcluster, want string }{
		{"app", "conference", "team-a-dev", "app-x-conference-x-team-a-dev"},
		{"app", "conference", strings.Repeat("v", 53), "app-x-conference-x-vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv-7a158aaad7"},
	}
	for _, tt := range tests {
		if got := vclusterHostName(tt.name, tt.namespace, tt.vcluster); got != tt.want {
			t.Errorf("vclusterHostName(%q, %q, %q) = %q, want %q", tt.name, tt.namespace, tt.vcluster, got, tt.want)
		}
	}
}

// The stage checks names by hand (regular expressions cost more to compile
// than its run); these are Kubernetes' own patterns, as oracles.
var (
	quantityOracle = regexp.MustCompile(`^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$`)
	labelOracle    = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	resourceOracle = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$`)
)

var nameSeeds = []string{
	"", "0", "1", "2", "500m", "1.5", ".5", "5.", "1e3", "1E-3", "1e", "1.5Gi", "4Gi", "+1", "-1", "1Ki", "1KB", "1k", "1K",
	"two", "1..2", "1.2.3", "e3", "1e+3", "1e.5", "1e3.5", "Gi", "-", "a", "a-b", "-a", "a-", "A", "a.b", "a_b",
	"requests.cpu", "example.com/gpus", "example.com/", "/gpus", "Example.com/gpus", "a/b/c", "pods", "services.loadbalancers",
	strings.Repeat("a", 63), strings.Repeat("a", 64),
}

func TestNameChecksMatchKubernetesPatterns(t *testing.T) {
	for _, s := range nameSeeds {
		checkNames(t, s)
	}
}

func FuzzNameChecks(f *testing.F) {
	for _, s := range nameSeeds {
		f.Add(s)
	}
	f.Fuzz(checkNames)
}

func checkNames(t *testing.T, s string) {
	if got, want := isQuantity(s), quantityOracle.MatchString(s); got != want {
		t.Errorf("isQuantity(%q) = %t, Kubernetes says %t", s, got, want)
	}
	if got, want := k8sname.IsDNSLabel(s), labelOracle.MatchString(s) && len(s) <= 63; got != want {
		t.Errorf("k8sname.IsDNSLabel(%q) = %t, Kubernetes says %t", s, got, want)
	}
	prefix, name, _ := strings.Cut(s, "/")
	short := len(name) <= 63 && len(prefix) <= 253
	if !strings.Contains(s, "/") {
		short = len(s) <= 63
	}
	if got, want := isResourceName(s), resourceOracle.MatchString(s) && short; got != want {
		t.Errorf("isResourceName(%q) = %t, Kubernetes says %t", s, got, want)
	}
}
