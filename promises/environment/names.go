package environment

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strings"

	"github.com/promisekit/promisekit/pkg/k8sname"
)

// shortName fits name into max characters. A longer name is cut and given
// a hash of the whole, so that two long names that share a beginning stay
// distinct and the same name always gives the same result.
func shortName(name string, max int) string {
	if len(name) <= max {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	suffix := "-" + hex.EncodeToString(sum[:])[:8]
	head := strings.TrimRight(name[:max-len(suffix)], "-._")
	return head + suffix
}

// vclusterHostName is how vcluster names, in the host namespace, an object
// it syncs from inside the virtual cluster: SafeConcatName(name, "x",
// namespace, "x", vcluster) in github.com/loft-sh/vcluster
// pkg/util/translate (v0.36.1). The IAM role must trust the service
// account under this name, since host Pods run as it.
func vclusterHostName(name, namespace, vcluster string) string {
	full := strings.Join([]string{name, "x", namespace, "x", vcluster}, "-")
	if len(full) > 63 {
		sum := sha256.Sum256([]byte(full))
		return strings.ReplaceAll(full[:52]+"-"+hex.EncodeToString(sum[:])[:10], ".-", "-")
	}
	return full
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// The checks below are Kubernetes' syntax for names (from pkg/k8sname) and
// quantities, written without regular expressions: compiling those would
// cost this short-lived stage more than its whole run.

// isTypeName reports whether s can name an environment type: a lower-case
// letter, then up to 31 lower-case letters, digits or '-'.
func isTypeName(s string) bool {
	return len(s) <= 32 && s != "" && s[0] >= 'a' && s[0] <= 'z' && k8sname.IsDNSLabel(s+"x")
}

// isResourceName reports whether s is a resource name in a quota, such as
// pods, requests.cpu or example.com/gpus: an optional DNS-subdomain prefix
// and '/', then lower-case letters, digits, '-', '_' and '.', alphanumeric at
// both ends.
func isResourceName(s string) bool {
	if !k8sname.IsLabelKey(s) {
		return false
	}
	// Stricter than Kubernetes' qualified names, as this promise has always
	// been: lower case only, and no prefix label over 63.
	prefix, _, found := strings.Cut(s, "/")
	return strings.ToLower(s) == s && (!found || allLabels(prefix))
}

func allLabels(s string) bool {
	for _, label := range strings.Split(s, ".") {
		if !k8sname.IsDNSLabel(label) {
			return false
		}
	}
	return true
}

// isQuantity reports whether s is a Kubernetes quantity
// (k8s.io/apimachinery/pkg/api/resource): a signed decimal number, then a
// binary suffix (Ki … Ei), a decimal one (n u m k M G T P E) or an exponent.
func isQuantity(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	num := len(s) - len(strings.TrimLeft(s, "0123456789."))
	number, suffix := s[:num], s[num:]
	if !isDecimal(number) {
		return false
	}
	switch suffix {
	case "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E":
		return true
	}
	if suffix[0] != 'e' && suffix[0] != 'E' {
		return false
	}
	exp := suffix[1:]
	if exp != "" && (exp[0] == '+' || exp[0] == '-') {
		exp = exp[1:]
	}
	return isDecimal(exp)
}

// isDecimal reports whether s is digits with at most one '.', and at least
// one digit.
func isDecimal(s string) bool {
	whole, frac, _ := strings.Cut(s, ".")
	return (whole != "" || frac != "") && isDigits(whole+"0") && isDigits(frac+"0")
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
