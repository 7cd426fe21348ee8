package apiaggregator

import (
	"strings"
	"testing"
	"time"

	"github.com/promisekit/promisekit/pkg/k8sname"
	"github.com/promisekit/promisekit/pkg/kratix"
)

func TestCheckPath(t *testing.T) {
	tests := []struct {
		path string
		want string // substring of the reason; "" for valid
	}{
		{"/", ""},
		{"/orders", ""},
		{"/v1/orders", ""},
		{"/a-b_c.d~e/F9", ""},
		{"/" + strings.Repeat("a", maxPathLength-1), ""},
		{"", "must not be empty"},
		{"orders", `start with "/"`},
		{"/orders/", `must not end with "/"`},
		{"//orders", `"//"`},
		{"/a//b", `"//"`},
		{"/./a", `"." or ".."`},
		{"/a/..", `"." or ".."`},
		{"/a/../b", `"." or ".."`},
		{"/a%2fb", "only letters"},
		{"/a#b", "only letters"},
		{"/a b", "only letters"},
		{"/ünicode", "only letters, digits and -._~ between slashes, not 'ü'"},
		{"/orders\u200b", `not '\u200b'`},
		{"/" + strings.Repeat("a", maxPathLength), "at most"},
	}
	for _, tt := range tests {
		got := checkPath(tt.path)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("checkPath(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestCheckHostname(t *testing.T) {
	tests := []struct {
		host string
		want string
	}{
		{"api.example.com", ""},
		{"a.b", ""},
		{"xn--bcher-kva.example", ""},
		{"", "must not be empty"},
		{"localhost", "fully qualified"},
		{"*.example.com", "wildcard"},
		{"API.example.com", "lower-case"},
		{"api_.example.com", "lower-case"},
		{"-api.example.com", "lower-case"},
		{"api..example.com", "lower-case"},
		{"10.0.0.1", "IP address"},
		{strings.Repeat("a", 64) + ".example.com", "lower-case"},
	}
	for _, tt := range tests {
		got := checkHostname(tt.host)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("checkHostname(%q) = %q, want %q", tt.host, got, tt.want)
		}
	}
}

func TestParseGatewayDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30s", 30 * time.Second, true},
		{"500ms", 500 * time.Millisecond, true},
		{"1m30s", 90 * time.Second, true},
		{"1h2m3s4ms", time.Hour + 2*time.Minute + 3*time.Second + 4*time.Millisecond, true},
		{"0s", 0, true},
		{"99999s", 99999 * time.Second, true},
		{"", 0, false},
		{"s", 0, false},
		{"1", 0, false},
		{"1.5s", 0, false},
		{"-1s", 0, false},
		{"100000s", 0, false},
		{"1d", 0, false},
		{"1us", 0, false},
		{"1h1h1h1h1h", 0, false},
		{"1s ", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseGatewayDuration(tt.in)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("parseGatewayDuration(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseBodySize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  string
	}{
		{"1", 1, ""},
		{"65536", 65536, ""},
		{"512Ki", 512 << 10, ""},
		{"20Mi", 20 << 20, ""},
		{"3Gi", 3 << 30, ""},
		{"4294967295", 4<<30 - 1, ""},
		{"4Gi", 0, "less than 4Gi"},
		{"4294967296", 0, "less than 4Gi"},
		{"9999999999Ki", 0, "less than 4Gi"},
		{"0", 0, "positive whole number"},
		{"0Mi", 0, "positive whole number"},
		{"010Mi", 0, "positive whole number"},
		{"", 0, "positive whole number"},
		{"Mi", 0, "positive whole number"},
		{"1.5Mi", 0, "positive whole number"},
		{"10M", 0, "positive whole number"},
		{"10mi", 0, "positive whole number"},
		{"-1", 0, "positive whole number"},
		{"12345678901", 0, "positive whole number"},
	}
	for _, tt := range tests {
		got, why := parseBodySize(tt.in)
		if (tt.err == "") != (why == "") || !strings.Contains(why, tt.err) || got != tt.want {
			t.Errorf("parseBodySize(%q) = %d, %q; want %d, %q", tt.in, got, why, tt.want, tt.err)
		}
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		s                        string
		label, label1035, subdom bool
	}{
		{"orders", true, true, true},
		{"team-a", true, true, true},
		{"0day", true, false, true},
		{"a", true, true, true},
		{strings.Repeat("a", 63), true, true, true},
		{strings.Repeat("a", 64), false, false, false},
		{"a.b", false, false, true},
		{"-a", false, false, false},
		{"a-", false, false, false},
		{"A", false, false, false},
		{"a_b", false, false, false},
		{"", false, false, false},
		{"a..b", false, false, false},
	}
	for _, tt := range tests {
		if got := k8sname.IsDNSLabel(tt.s); got != tt.label {
			t.Errorf("k8sname.IsDNSLabel(%q) = %v", tt.s, got)
		}
		if got := k8sname.IsDNS1035Label(tt.s); got != tt.label1035 {
			t.Errorf("k8sname.IsDNS1035Label(%q) = %v", tt.s, got)
		}
		if got := isDNSSubdomain(tt.s); got != tt.subdom {
			t.Errorf("isDNSSubdomain(%q) = %v", tt.s, got)
		}
	}
}

func TestLabels(t *testing.T) {
	tests := []struct {
		key, value string
		valid      bool
	}{
		{"team", "orders", true},
		{"example.com/team", "Orders_2.x", true},
		{"kubernetes.io/metadata.name", "team-a", true},
		{"team", "", true},
		{"", "x", false},
		{"example.com/", "x", false},
		{"Example.com/team", "x", false},
		{"team/", "x", false},
		{"a/b/c", "x", false},
		{strings.Repeat("k", 64), "x", false},
		{"team", strings.Repeat("v", 64), false},
		{"team", "-x", false},
		{"team", "x y", false},
	}
	for _, tt := range tests {
		var errs kratix.FieldErrors
		validateLabels(&errs, "spec.labels", map[string]string{tt.key: tt.value})
		if got := len(errs) == 0; got != tt.valid {
			t.Errorf("labels {%q: %q}: valid = %v, want %v (%v)", tt.key, tt.value, got, tt.valid, errs.Err())
		}
	}
}
