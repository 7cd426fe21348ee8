// Package k8sname reports whether strings follow the syntax Kubernetes
// requires of names, label keys and values, and ConfigMap and Secret data
// keys. Each function accepts exactly what the function of
// k8s.io/apimachinery/pkg/util/validation named in its comment accepts; the
// tests check every case against it.
//
// The functions return a bool, not apimachinery's list of messages: callers
// say in their own words what they expected. The checks are written as byte
// loops rather than regular expressions, so that importing the package costs
// a short-lived binary nothing at start-up, and the package imports nothing
// outside the standard library.
package k8sname

import "strings"

// Length limits, in bytes.
const (
	// DNSLabelMaxLength bounds a DNS-1123 or DNS-1035 label.
	DNSLabelMaxLength = 63
	// DNSSubdomainMaxLength bounds a DNS-1123 subdomain.
	DNSSubdomainMaxLength = 253
	// LabelValueMaxLength bounds a label value and the name part of a
	// label key.
	LabelValueMaxLength = 63
	// ConfigMapKeyMaxLength bounds a ConfigMap or Secret data key.
	ConfigMapKeyMaxLength = 253
)

// IsDNSLabel reports whether s is a DNS-1123 label, as namespace names and
// most object names must be: 1 to 63 lower-case ASCII letters, digits or
// '-', starting and ending with a letter or digit. It agrees with
// validation.IsDNS1123Label.
func IsDNSLabel(s string) bool {
	return len(s) <= DNSLabelMaxLength && isLabel(s)
}

// IsDNS1035Label reports whether s is a DNS-1035 label, as Service names
// must be: a DNS-1123 label that starts with a letter. It agrees with
// validation.IsDNS1035Label.
func IsDNS1035Label(s string) bool {
	return IsDNSLabel(s) && isLower(s[0])
}

// IsDNSSubdomain reports whether s is a DNS-1123 subdomain, as the names of
// most objects must be: at most 253 bytes of DNS-1123 labels joined by '.'.
// Kubernetes, unlike DNS, sets no limit on the length of each label. It
// agrees with validation.IsDNS1123Subdomain.
func IsDNSSubdomain(s string) bool {
	if len(s) > DNSSubdomainMaxLength {
		return false
	}
	for {
		label, rest, more := strings.Cut(s, ".")
		if !isLabel(label) {
			return false
		}
		if !more {
			return true
		}
		s = rest
	}
}

// IsLabelKey reports whether s is a label or annotation key, which
// Kubernetes calls a qualified name: an optional prefix, a DNS-1123
// subdomain followed by '/', then a name of 1 to 63 ASCII letters, digits,
// '-', '_' or '.', starting and ending with a letter or digit. It agrees with
// validation.IsQualifiedName.
func IsLabelKey(s string) bool {
	name := s
	if prefix, rest, ok := strings.Cut(s, "/"); ok {
		if !IsDNSSubdomain(prefix) {
			return false
		}
		name = rest
	}
	return name != "" && IsLabelValue(name)
}

// IsLabelValue reports whether s is a label value: empty, or 1 to 63 ASCII
// letters, digits, '-', '_' or '.', starting and ending with a letter or
// digit. It agrees with validation.IsValidLabelValue.
func IsLabelValue(s string) bool {
	if s == "" {
		return true
	}
	if len(s) > LabelValueMaxLength || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// IsConfigMapKey reports whether s can be a key of a ConfigMap's or a
// Secret's data: 1 to 253 ASCII letters, digits, '-', '_' or '.', and
// neither "." nor anything starting with "..". It agrees with
// validation.IsConfigMapKey.
func IsConfigMapKey(s string) bool {
	if s == "" || len(s) > ConfigMapKeyMaxLength || s == "." || strings.HasPrefix(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// isLabel reports whether s is a DNS-1123 label of any length.
func isLabel(s string) bool {
	if s == "" || !isLowerAlnum(s[0]) || !isLowerAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !isLowerAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

func isLower(c byte) bool      { return 'a' <= c && c <= 'z' }
func isLowerAlnum(c byte) bool { return isLower(c) || '0' <= c && c <= '9' }
func isAlnum(c byte) bool      { return isLowerAlnum(c) || 'A' <= c && c <= 'Z' }
