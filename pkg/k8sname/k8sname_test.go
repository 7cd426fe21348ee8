package k8sname

import (
	"go/build"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation"
)

// rules pairs each function with apimachinery's, which the API server runs.
// The deprecated validation.IsQualifiedName and IsValidLabelValue are
// content.IsLabelKey and IsLabelValue.
var rules = []struct {
	name string
	ours func(string) bool
	kube func(string) []string
}{
	{"IsDNSLabel", IsDNSLabel, validation.IsDNS1123Label},
	{"IsDNS1035Label", IsDNS1035Label, validation.IsDNS1035Label},
	{"IsDNSSubdomain", IsDNSSubdomain, validation.IsDNS1123Subdomain},
	{"IsLabelKey", IsLabelKey, content.IsLabelKey},
	{"IsLabelValue", IsLabelValue, content.IsLabelValue},
	{"IsConfigMapKey", IsConfigMapKey, validation.IsConfigMapKey},
}

func rule(t *testing.T, name string) (func(string) bool, func(string) []string) {
	t.Helper()
	for _, r := range rules {
		if r.name == name {
			return r.ours, r.kube
		}
	}
	t.Fatalf("no rule %s", name)
	return nil, nil
}

// The good and bad values are those of apimachinery's validation_test.go
// (TestIsDNS1123Label, TestIsDNS1035Label, TestIsDNS1123Subdomain,
// TestIsQualifiedName, TestIsValidLabelValue, TestIsConfigMapKey), then
// edge cases of our own below "more:".
var tests = []struct {
	rule      string
	good, bad []string
}{
	{
		rule: "IsDNSLabel",
		good: []string{
			"a", "ab", "abc", "a1", "a-1", "a--1--2--b",
			"0", "01", "012", "1a", "1-a", "1--a--b--2",
			strings.Repeat("a", 63),
		},
		bad: []string{
			"", "A", "ABC", "aBc", "A1", "A-1", "1-A",
			"-", "a-", "-a", "1-", "-1",
			"_", "a_", "_a", "a_b", "1_", "_1", "1_2",
			".", "a.", ".a", "a.b", "1.", ".1", "1.2",
			" ", "a ", " a", "a b", "1 ", " 1", "1 2",
			strings.Repeat("a", 64),
			// more:
			"a\n", "\na", "é", "a\x00", "a/b", "--", "a" + strings.Repeat("-", 61) + "b-",
		},
	},
	{
		rule: "IsDNS1035Label",
		good: []string{
			"a", "ab", "abc", "a1", "a-1", "a--1--2--b",
			strings.Repeat("a", 63),
		},
		bad: []string{
			"0", "01", "012", "1a", "1-a", "1--a--b--2",
			"", "A", "ABC", "aBc", "A1", "A-1", "1-A",
			"-", "a-", "-a", "1-", "-1",
			"_", "a_", "_a", "a_b", "1_", "_1", "1_2",
			".", "a.", ".a", "a.b", "1.", ".1", "1.2",
			" ", "a ", " a", "a b", "1 ", " 1", "1 2",
			strings.Repeat("a", 64),
			// more:
			"z" + strings.Repeat("0", 63), "a\n",
		},
	},
	{
		rule: "IsDNSSubdomain",
		good: []string{
			"a", "ab", "abc", "a1", "a-1", "a--1--2--b",
			"0", "01", "012", "1a", "1-a", "1--a--b--2",
			"a.a", "ab.a", "abc.a", "a1.a", "a-1.a", "a--1--2--b.a",
			"a.1", "ab.1", "abc.1", "a1.1", "a-1.1", "a--1--2--b.1",
			"0.a", "01.a", "012.a", "1a.a", "1-a.a", "1--a--b--2",
			"0.1", "01.1", "012.1", "1a.1", "1-a.1", "1--a--b--2.1",
			"a.b.c.d.e", "aa.bb.cc.dd.ee", "1.2.3.4.5", "11.22.33.44.55",
			strings.Repeat("a", 253),
			// more: Kubernetes sets no limit on one label's length.
			strings.Repeat("a", 64) + ".b", strings.Repeat("a.", 126) + "a",
		},
		bad: []string{
			"", "A", "ABC", "aBc", "A1", "A-1", "1-A",
			"-", "a-", "-a", "1-", "-1",
			"_", "a_", "_a", "a_b", "1_", "_1", "1_2",
			".", "a.", ".a", "a..b", "1.", ".1", "1..2",
			" ", "a ", " a", "a b", "1 ", " 1", "1 2",
			"A.a", "aB.a", "ab.A", "A1.a", "a1.A",
			"A.1", "aB.1", "A1.1", "1A.1",
			"0.A", "01.A", "012.A", "1A.a", "1a.A",
			"A.B.C.D.E", "AA.BB.CC.DD.EE", "a.B.c.d.e", "aa.bB.cc.dd.ee",
			"a@b", "a,b", "a_b", "a;b",
			"a:b", "a%b", "a?b", "a$b",
			strings.Repeat("a", 254),
			// more:
			"a-.b", "a.-b", "a.b-", "-a.b", "..", "a\n", "a.b\n", strings.Repeat("a.", 127),
		},
	},
	{
		rule: "IsLabelKey",
		good: []string{
			"simple",
			"now-with-dashes",
			"1-starts-with-num",
			"1234",
			"simple/simple",
			"now-with-dashes/simple",
			"now-with-dashes/now-with-dashes",
			"now.with.dots/simple",
			"now-with.dashes-and.dots/simple",
			"1-num.2-num/3-num",
			"1234/5678",
			"1.2.3.4/5678",
			"Uppercase_Is_OK_123",
			"example.com/Uppercase_Is_OK_123",
			"requests.storage-foo",
			strings.Repeat("a", 63),
			strings.Repeat("a", 253) + "/" + strings.Repeat("b", 63),
			// more:
			"a", "A", "a_b.c-d", strings.Repeat("a", 64) + ".com/x",
		},
		bad: []string{
			"nospecialchars%^=@",
			"cantendwithadash-",
			"-cantstartwithadash-",
			"only/one/slash",
			"Example.com/abc",
			"example_com/abc",
			"example.com/",
			"/simple",
			strings.Repeat("a", 64),
			strings.Repeat("a", 254) + "/abc",
			// more:
			"", "/", "a/", "a//b", "a/b/c", "a/-b", "a/b_", "a/" + strings.Repeat("b", 64),
			"_a", "a.", ".a", "a b", "é", "a\n", "a/b\n",
		},
	},
	{
		rule: "IsLabelValue",
		good: []string{
			"simple",
			"now-with-dashes",
			"1-starts-with-num",
			"end-with-num-1",
			"1234",
			strings.Repeat("a", 63),
			"",
			// more:
			"A", "Orders_2.x", "a.b_c-d",
		},
		bad: []string{
			"nospecialchars%^=@",
			"Tama-nui-te-rā.is.Māori.sun",
			"\\backslashes\\are\\bad",
			"-starts-with-dash",
			"ends-with-dash-",
			".starts.with.dot",
			"ends.with.dot.",
			strings.Repeat("a", 64),
			// more:
			"_", "a_", "a/b", "a b", "a\n", "-",
		},
	},
	{
		rule: "IsConfigMapKey",
		good: []string{
			"a",
			"good",
			"good-good",
			"still.good",
			"this.is.also.good",
			".so.is.this",
			"THIS_IS_GOOD",
			"so_is_this_17",
			// more:
			".a", "a..b", "a.", "a..", "-", "_", "0", "tls.crt", strings.Repeat("k", 253),
		},
		bad: []string{
			".",
			"..",
			"..bad",
			"b*d",
			"bad!&bad",
			// more:
			"", "...", "..a", "a/b", `a\b`, "a b", "a:b", "é", "a\n", strings.Repeat("k", 254),
		},
	},
}

func TestRules(t *testing.T) {
	for _, tt := range tests {
		ours, kube := rule(t, tt.rule)
		check := func(s string, want bool) {
			if got := ours(s); got != want {
				t.Errorf("%s(%q) = %v, want %v", tt.rule, s, got, want)
			}
			if msgs := kube(s); (len(msgs) == 0) != want {
				t.Errorf("apimachinery on %q: %v, but the case says valid = %v", s, msgs, want)
			}
		}
		for _, s := range tt.good {
			check(s, true)
		}
		for _, s := range tt.bad {
			check(s, false)
		}
	}
}

// FuzzAgreesWithAPIMachinery feeds every function the same input as its
// apimachinery counterpart. The tables seed it.
func FuzzAgreesWithAPIMachinery(f *testing.F) {
	for _, tt := range tests {
		for _, s := range append(tt.good, tt.bad...) {
			f.Add(s)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range rules {
			if got, want := r.ours(s), len(r.kube(s)) == 0; got != want {
				t.Errorf("%s(%q) = %v, apimachinery says %v: %v", r.name, s, got, want, r.kube(s))
			}
		}
	})
}

// TestStandardLibraryOnly keeps apimachinery, and anything else outside the
// standard library, out of the binaries that import this package.
func TestStandardLibraryOnly(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if first, _, _ := strings.Cut(imp, "/"); strings.Contains(first, ".") {
			t.Errorf("k8sname imports %s; it must import only the standard library", imp)
		}
	}
}
