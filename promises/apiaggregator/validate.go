package apiaggregator

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/promisekit/promisekit/pkg/k8sname"
	"github.com/promisekit/promisekit/pkg/kratix"
)

// The syntax checks below are written out by hand rather than as package
// regular expressions: compiling those at start-up is a measurable part of a
// stage that runs for a few milliseconds. Each mirrors a pattern or CEL rule
// of the Promise's CRD, so that a request that bypassed admission is refused
// here with the same field named. Kubernetes' name rules come from pkg/k8sname.

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool { return isLower(c) || isDigit(c) }

// isDNSSubdomain reports whether s is an RFC 1123 subdomain as Kubernetes
// checks object names, at most 253 bytes, whose labels are at most 63.
func isDNSSubdomain(s string) bool {
	if !k8sname.IsDNSSubdomain(s) {
		return false
	}
	// Unlike Kubernetes, no label over 63: DNS hostnames need that limit
	// (checkHostname, the CRD's hostname pattern), and this promise has
	// always applied it to the other names checked here as well.
	for label := range strings.SplitSeq(s, ".") {
		if !k8sname.IsDNSLabel(label) {
			return false
		}
	}
	return true
}

// checkHostname returns why s is not a hostname an aggregator can serve, or
// "". Gateway API allows wildcards and single labels; a certificate from a
// public issuer needs neither, so both are refused.
func checkHostname(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case strings.HasPrefix(s, "*."):
		return "must be a fully qualified hostname, not a wildcard"
	case !isDNSSubdomain(s):
		return "must be a lower-case DNS hostname such as api.example.com"
	case !strings.Contains(s, "."):
		return "must be a fully qualified hostname such as api.example.com"
	}
	tld := s[strings.LastIndexByte(s, '.')+1:]
	if strings.Trim(tld, "0123456789") == "" {
		return "must be a hostname, not an IP address"
	}
	return ""
}

// maxPathLength bounds prefixes and rewrites, well inside Gateway API's 1024.
const maxPathLength = 256

// checkPath returns why s is not a path prefix this promise accepts, or "".
// It is stricter than Gateway API: segments of unreserved characters only
// (RFC 3986), no "." or ".." segments and no trailing slash, so that two
// prefixes that route the same requests are also byte-equal, which is what
// makes conflicts detectable.
func checkPath(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case s[0] != '/':
		return `must start with "/"`
	case len(s) > maxPathLength:
		return fmt.Sprintf("must be at most %d characters", maxPathLength)
	case s == "/":
		return ""
	case strings.HasSuffix(s, "/"):
		return `must not end with "/" (a prefix matches whole segments: "/orders" already matches "/orders/")`
	}
	for seg := range strings.SplitSeq(s[1:], "/") {
		switch seg {
		case "":
			return `must not contain "//"`
		case ".", "..":
			return `must not contain "." or ".." segments`
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !isAlnum(c) && !(c >= 'A' && c <= 'Z') && !strings.ContainsRune("-._~", rune(c)) {
				// Name the character, not its first byte: "ö", not "Ã";
				// an invisible one, such as U+200B, shows as its escape.
				r, _ := utf8.DecodeRuneInString(seg[i:])
				return fmt.Sprintf("must contain only letters, digits and -._~ between slashes, not %q", r)
			}
		}
	}
	return ""
}

// parseGatewayDuration parses a Gateway API Duration (GEP-2257): one to four
// groups of one to five digits, each followed by h, m, s or ms.
func parseGatewayDuration(s string) (time.Duration, bool) {
	var total time.Duration
	groups := 0
	for i := 0; i < len(s); {
		start := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if n := i - start; n == 0 || n > 5 {
			return 0, false
		}
		v, _ := strconv.Atoi(s[start:i])
		var unit time.Duration
		switch {
		case strings.HasPrefix(s[i:], "ms"):
			unit, i = time.Millisecond, i+2
		case strings.HasPrefix(s[i:], "h"):
			unit, i = time.Hour, i+1
		case strings.HasPrefix(s[i:], "m"):
			unit, i = time.Minute, i+1
		case strings.HasPrefix(s[i:], "s"):
			unit, i = time.Second, i+1
		default:
			return 0, false
		}
		total += time.Duration(v) * unit
		groups++
	}
	return total, groups >= 1 && groups <= 4
}

// maxBodyBytes is the largest request-body limit: Envoy's buffer filter
// holds it in a uint32, and kgateway's CRD refuses 4Gi and above.
const maxBodyBytes = 4<<30 - 1

// parseBodySize parses a body-size limit written as a Kubernetes quantity
// with an optional binary suffix ("512Ki", "10Mi", "1Gi", "65536"): the
// subset every supported implementation's CRD accepts.
func parseBodySize(s string) (int64, string) {
	num, mult := s, int64(1)
	if len(s) > 2 {
		switch s[len(s)-2:] {
		case "Ki":
			num, mult = s[:len(s)-2], 1<<10
		case "Mi":
			num, mult = s[:len(s)-2], 1<<20
		case "Gi":
			num, mult = s[:len(s)-2], 1<<30
		}
	}
	if num == "" || len(num) > 10 || num[0] == '0' || strings.Trim(num, "0123456789") != "" {
		return 0, `must be a positive whole number of bytes, optionally with Ki, Mi or Gi, such as "10Mi"`
	}
	n, _ := strconv.ParseInt(num, 10, 64)
	if n > maxBodyBytes/mult {
		return 0, "must be less than 4Gi"
	}
	return n * mult, ""
}

// validateLabels checks a label selector's matchLabels as the API server
// does (qualified names and label values).
func validateLabels(errs *kratix.FieldErrors, field string, labels map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if why := checkLabelKey(k); why != "" {
			errs.Add(fmt.Sprintf("%s[%s]", field, k), why)
		} else if why := checkLabelValue(labels[k]); why != "" {
			errs.Add(fmt.Sprintf("%s[%s]", field, k), why)
		}
	}
}

func checkLabelKey(k string) string {
	prefix, name, found := strings.Cut(k, "/")
	if !found {
		prefix, name = "", k
	} else if !isDNSSubdomain(prefix) {
		return "label key prefix must be a DNS subdomain"
	}
	if name == "" || !k8sname.IsLabelValue(name) {
		return "label key must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
	}
	return ""
}

func checkLabelValue(v string) string {
	if !k8sname.IsLabelValue(v) {
		return "label value must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
	}
	return ""
}

// checkCIDR returns why s is not a proxy network in canonical CIDR form
// ("10.0.0.0/8", "2001:db8::/32"), or "". Canonical form is required so
// that the CRD's CEL rule (Kubernetes' cidr() library) and this check
// agree, and so that an address with host bits set ("10.0.0.1/8"), which
// usually means a typo, is not silently widened.
func checkCIDR(s string) string {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return `must be a CIDR such as "10.0.0.0/8" or "2001:db8::/32"`
	}
	if p.Addr().Is4In6() {
		return "must be an IPv4 CIDR written as IPv4, not IPv4-mapped IPv6"
	}
	if canonical := p.Masked().String(); canonical != s {
		return fmt.Sprintf("must be in canonical form: %q", canonical)
	}
	return ""
}
