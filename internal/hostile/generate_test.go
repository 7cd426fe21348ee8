package hostile

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestMatches(t *testing.T) {
	tests := []struct {
		s, pattern string
		want       bool
	}{
		{"spec.x: unknown field", "spec.x: unknown field", true},
		{"spec.x: unknown field; spec.y: unknown field", "spec.x:", true},
		{"spec.xy: unknown field", "spec.x:", false},
		{"input object: yaml: line 8: exceeded max depth of 10000", "input object: yaml: line …: exceeded max depth", true},
		{"input object: yaml: line 8: did not find", "input object: yaml: line …: exceeded max depth", false},
		{"yaml: exceeded", "input object: …", false},
	}
	for _, tt := range tests {
		if got := Matches(tt.s, tt.pattern); got != tt.want {
			t.Errorf("Matches(%q, %q) = %v, want %v", tt.s, tt.pattern, got, tt.want)
		}
	}
}

// TestGenerators: what the generators write is the YAML they promise.
func TestGenerators(t *testing.T) {
	base := []byte("apiVersion: x.io/v1\nkind: T\nmetadata: {name: a}\nspec: {}\n")

	if got := Nested(3); got != "[[[]]]" {
		t.Errorf("Nested(3) = %q", got)
	}
	if got := Dense("1", 7); got != "[1,1,1]" {
		t.Errorf("Dense(1, 7) = %q", got)
	}
	if got := AliasBomb(2, 2); got != "[&l0 [lol,lol], &l1 [*l0,*l0]]" {
		t.Errorf("AliasBomb(2, 2) = %q", got)
	}
	if got := AnchorCopies(2, 2); got != "{anchor: &a [{a: 1},{a: 1}], copies: [*a,*a]}" {
		t.Errorf("AnchorCopies(2, 2) = %q", got)
	}

	var obj struct {
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
		Spec struct {
			X []any `json:"x"`
		} `json:"spec"`
	}
	doc := With(t, With(t, base, "spec.x", "[[1], 2]"), "metadata.annotations.note", `"a & b"`)
	if err := yaml.Unmarshal(doc, &obj); err != nil {
		t.Fatalf("With wrote %s: %v", doc, err)
	}
	if len(obj.Spec.X) != 2 || obj.Metadata.Annotations["note"] != "a & b" {
		t.Errorf("With wrote %s", doc)
	}

	for _, size := range []int{1000, 4096, 1 << 20} {
		doc := Fill(t, base, "spec.x", "{a}", size)
		if len(doc) > size || len(doc) < size-4 {
			t.Errorf("Fill to %d bytes made %d", size, len(doc))
		}
		if !strings.Contains(string(doc), "x: [{a},{a},") {
			t.Errorf("Fill wrote %.80s", doc)
		}
	}
}
