// Package leakcheck finds secrets where none may be: in stage output,
// status, logs and state-store trees that tests produce. It knows the
// shapes of the secrets this project handles (NATS nkey seeds, user JWTs
// and credentials files, Synadia bearer tokens, PEM private keys, AWS
// secret access keys), looks inside base64 as well (a Secret's data is
// base64), and can be told exact values a test generated, such as a token,
// to look for too.
//
// Findings never quote what they found: a test failure message is itself
// output.
package leakcheck

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Finding is one secret found.
type Finding struct {
	Where  string // file or stream name
	Offset int    // byte offset in it
	Kind   string // what was found, e.g. "NATS user seed"
}

func (f Finding) String() string {
	return fmt.Sprintf("%s at byte %d: %s", f.Where, f.Offset, f.Kind)
}

// pattern is one kind of secret.
type pattern struct {
	kind string
	re   *regexp.Regexp
	// confirm, when set, rejects matches that only look like the secret.
	confirm func(match []byte) (kind string, ok bool)
}

var patterns = []pattern{
	// nkeys seeds: 'S', the key type, then base32 (58 characters in all).
	// Operator, account, user, server, cluster and curve keys.
	{kind: "NATS nkey seed", re: regexp.MustCompile(`\bS[OAUNCX][A-Z2-7]{56}\b`), confirm: seedKind},
	// The armour nats-io/jwt writes around a credentials file's parts.
	{kind: "NATS credentials file", re: regexp.MustCompile(`-----BEGIN (NATS USER JWT|USER NKEY SEED)-----`)},
	// Any JWT, named by its NATS type when it has one. Account and operator
	// JWTs are public, but no stage output has a reason to hold a JWT, and
	// a bearer JWT (user or service account) is a credential on its own.
	{kind: "JWT", re: regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}`), confirm: jwtKind},
	// Synadia Cloud personal access tokens.
	{kind: "Synadia access token", re: regexp.MustCompile(`\buat_[A-Za-z0-9]{20,}`)},
	// A bearer token in a header or log line.
	{kind: "bearer token", re: regexp.MustCompile(`(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{16,}`)},
	// PEM private keys of every flavour (RSA, EC, PKCS#8, OpenSSH, encrypted).
	{kind: "PEM private key", re: regexp.MustCompile(`-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----`)},
	// AWS secret access keys, which have no prefix of their own: 40
	// characters next to a name that says what they are.
	{kind: "AWS secret access key", re: regexp.MustCompile(`(?i)(aws_?secret_?access_?key|secret_?access_?key)["']?\s*[:=]\s*["']?[A-Za-z0-9/+]{40}(?:[^A-Za-z0-9/+=]|$)`)},
}

// base64RE finds runs long enough to hide a seed or a key.
var base64RE = regexp.MustCompile(`[A-Za-z0-9+/_-]{60,}={0,2}`)

// Scanner finds secrets. The zero Scanner knows the patterns above.
type Scanner struct {
	// Known are exact secret values to find as well, such as a token a test
	// generated; their names are the findings' kinds.
	Known map[string][]byte
}

// Bytes scans data, named where in findings.
func (s *Scanner) Bytes(where string, data []byte) []Finding {
	found := s.scan(where, data, "")
	for _, loc := range base64RE.FindAllIndex(data, -1) {
		decoded, ok := decodeBase64(data[loc[0]:loc[1]])
		if !ok {
			continue
		}
		for _, f := range s.scan(where, decoded, " (base64)") {
			f.Offset = loc[0]
			found = append(found, f)
		}
	}
	slices.SortFunc(found, func(a, b Finding) int { return cmp.Or(a.Offset-b.Offset, strings.Compare(a.Kind, b.Kind)) })
	return slices.Compact(found)
}

func (s *Scanner) scan(where string, data []byte, suffix string) []Finding {
	var found []Finding
	for _, p := range patterns {
		for _, loc := range p.re.FindAllIndex(data, -1) {
			kind := p.kind
			if p.confirm != nil {
				var ok bool
				if kind, ok = p.confirm(data[loc[0]:loc[1]]); !ok {
					continue
				}
			}
			found = append(found, Finding{Where: where, Offset: loc[0], Kind: kind + suffix})
		}
	}
	for _, name := range sortedNames(s.Known) {
		secret := s.Known[name]
		if len(secret) == 0 {
			continue
		}
		for off := 0; ; {
			i := bytes.Index(data[off:], secret)
			if i < 0 {
				break
			}
			found = append(found, Finding{Where: where, Offset: off + i, Kind: name + suffix})
			off += i + len(secret)
		}
	}
	return found
}

// Tree scans every regular file below dir; findings name files relative to
// it.
func (s *Scanner) Tree(dir string) ([]Finding, error) {
	var found []Finding
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		found = append(found, s.Bytes(filepath.ToSlash(rel), data)...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("leakcheck: scanning %s: %w", dir, err)
	}
	return found, nil
}

// Check fails t for every secret in data.
func (s *Scanner) Check(t testing.TB, where string, data []byte) {
	t.Helper()
	for _, f := range s.Bytes(where, data) {
		t.Errorf("secret leaked: %s", f)
	}
}

// CheckTree fails t for every secret in the files below dir.
func (s *Scanner) CheckTree(t testing.TB, dir string) {
	t.Helper()
	found, err := s.Tree(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Errorf("secret leaked: %s/%s", dir, f)
	}
}

func seedKind(match []byte) (string, bool) {
	names := map[byte]string{'O': "operator", 'A': "account", 'U': "user", 'N': "server", 'C': "cluster", 'X': "curve"}
	return "NATS " + names[match[1]] + " seed", true
}

// jwtKind names NATS user JWTs, whose payload says "type":"user" under nats.
func jwtKind(match []byte) (string, bool) {
	parts := bytes.Split(match, []byte("."))
	payload, err := base64.RawURLEncoding.DecodeString(string(parts[1]))
	if err != nil {
		return "JWT", true
	}
	var claims struct {
		Nats struct {
			Type string `json:"type"`
		} `json:"nats"`
	}
	if json.Unmarshal(payload, &claims) == nil && claims.Nats.Type != "" {
		return "NATS " + claims.Nats.Type + " JWT", true
	}
	return "JWT", true
}

// decodeBase64 decodes standard or URL-safe base64, padded or not.
func decodeBase64(b []byte) ([]byte, bool) {
	s := string(b)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if out, err := enc.DecodeString(s); err == nil {
			return out, true
		}
	}
	// A run cut at an odd length still hides whole secrets in its prefix.
	if trimmed := strings.TrimRight(s, "="); len(trimmed) > 4 {
		n := len(trimmed) / 4 * 4
		if out, err := base64.StdEncoding.DecodeString(trimmed[:n]); err == nil {
			return out, true
		}
		if out, err := base64.URLEncoding.DecodeString(trimmed[:n]); err == nil {
			return out, true
		}
	}
	return nil, false
}

func sortedNames(m map[string][]byte) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}
