package kratix

import (
	"errors"
	"strings"
	"testing"
)

type testSpec struct {
	Name   string      `json:"name"`
	Port   int32       `json:"port"`
	Routes []testRoute `json:"routes"`
}

type testRoute struct {
	Prefix string `json:"prefix"`
}

func TestParseObject(t *testing.T) {
	const head = "apiVersion: x.io/v1\nkind: T\n"
	const obj = head + "metadata: {name: a}\n"
	tests := []struct {
		name, in, wantErr string
	}{
		{name: "valid", in: head + "metadata: {name: a, namespace: b, managedFields: [{}]}\nspec: {name: n}\nstatus: {k: 1}\n"},
		{name: "duplicate key", in: head + "kind: U\nmetadata: {name: a}\n", wantErr: "already set"},
		{name: "no name", in: head + "metadata: {}\n", wantErr: "metadata.name is required"},
		{name: "no kind", in: "apiVersion: x.io/v1\nmetadata: {name: a}\n", wantErr: "apiVersion and kind"},
		{name: "empty", in: "", wantErr: "empty document"},
		{name: "not yaml", in: "{[", wantErr: "input object"},

		// What the API server stores has no other top-level field, and
		// its field names are case-sensitive.
		{name: "unknown top-level field", in: obj + "specs: {}\n", wantErr: "specs: unknown field"},
		{name: "spec in capitals", in: obj + "Spec: {}\n", wantErr: "Spec: unknown field"},
		{name: "a list", in: "- a\n- b\n", wantErr: "input object: the document is a list, not an object"},
		{name: "a string", in: "hello\n", wantErr: "input object: the document is a string, not an object"},
		{name: "a number", in: "12\n", wantErr: "input object: the document is a number, not an object"},

		// Names as the API server allows them, and no other.
		{name: "longest name", in: head + "metadata: {name: " + strings.Repeat("a", 253) + "}\n"},
		{name: "dotted name", in: head + "metadata: {name: a-1.b-2, namespace: team-1}\n"},
		{name: "name too long", in: head + "metadata: {name: " + strings.Repeat("a", 254) + "}\n", wantErr: "metadata.name: must be a DNS subdomain"},
		{name: "name climbs", in: head + "metadata: {name: ../etc}\n", wantErr: "metadata.name: must be a DNS subdomain"},
		{name: "name with a slash", in: head + "metadata: {name: a/b}\n", wantErr: "metadata.name: must be a DNS subdomain"},
		{name: "name percent-encoded", in: head + "metadata: {name: '%2e%2e'}\n", wantErr: "metadata.name: must be a DNS subdomain"},
		{name: "name in capitals", in: head + "metadata: {name: Orders}\n", wantErr: "metadata.name: must be a DNS subdomain"},
		{name: "name with a Cyrillic o", in: head + "metadata: {name: \u043erders}\n", wantErr: "metadata.name: must be a DNS subdomain"},
		{name: "name with an empty label", in: head + "metadata: {name: a..b}\n", wantErr: "metadata.name: must be a DNS subdomain"},
		{name: "name ends in a dash", in: head + "metadata: {name: a-}\n", wantErr: "metadata.name: must be a DNS subdomain"},
		{name: "label ends in a dash", in: head + "metadata: {name: a-.b}\n", wantErr: "metadata.name: must be a DNS subdomain"},
		{name: "name starts with a dot", in: head + "metadata: {name: .a}\n", wantErr: "metadata.name: must be a DNS subdomain"},
		{name: "dotted namespace", in: head + "metadata: {name: a, namespace: a.b}\n", wantErr: "metadata.namespace: must be a DNS label"},
		{name: "namespace too long", in: head + "metadata: {name: a, namespace: " + strings.Repeat("a", 64) + "}\n", wantErr: "metadata.namespace: must be a DNS label"},
		{name: "namespace climbs", in: head + "metadata: {name: a, namespace: ../b}\n", wantErr: "metadata.namespace: must be a DNS label"},

		// One document, however it is delimited.
		{name: "document start", in: "---\n" + obj},
		{name: "document end", in: obj + "...\n"},
		{name: "empty second document", in: obj + "---\n# nothing\n"},
		{name: "markers inside scalars", in: obj + "spec:\n  a: '--- x'\n  b: \"...\"\n  c: |\n    ---\n    ...\n"},
		{name: "two documents", in: obj + "---\n" + obj, wantErr: "input object: 2 YAML documents"},
		{name: "a document after the end", in: obj + "...\n---\nkind: U\n", wantErr: "input object: 2 YAML documents"},
		{name: "content after the end", in: obj + "...\nkind: U\n", wantErr: "input object: yaml:"},
		{name: "a broken second document", in: obj + "---\n{[\n", wantErr: "input object: yaml:"},

		// No anchors, and so no aliases; '&' and '*' elsewhere are text.
		{name: "ampersands in scalars and comments", in: obj + "spec:\n  a: 'Tom & Jerry'\n  b: Tom & Jerry\n  c: \"x&y\"\n  u: http://a/?x=1&y=2\n  d: [a & b, '&c', orders.*, \"*\"]\n  e: |\n    &a\n    *a\n  f: Tom\n    & Jerry\n  g: !t&x b\n# &a *a\n"},
		{name: "anchor and alias", in: obj + "spec: {a: &x [1], b: *x}\n", wantErr: "input object: YAML anchors and aliases are not allowed"},
		{name: "anchor after a tag", in: obj + "spec: {a: !!str &x b}\n", wantErr: "input object: YAML anchors and aliases are not allowed"},
		{name: "anchor on a key", in: obj + "spec: {&x a: b}\n", wantErr: "input object: YAML anchors and aliases are not allowed"},
		{name: "merge key", in: obj + "spec: {a: &x {k: 1}, b: {<<: *x}}\n", wantErr: "input object: YAML anchors and aliases are not allowed"},
		{name: "block anchor", in: obj + "spec:\n  a: &x\n    k: 1\n  b: *x\n", wantErr: "input object: YAML anchors and aliases are not allowed"},
		{name: "alias without anchor", in: obj + "spec: {a: *x}\n", wantErr: "input object: yaml:"},
		{name: "anchor in a broken document", in: obj + "spec: {a: &x [1}\n", wantErr: "input object: yaml:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := ParseObject([]byte(tt.in))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tt.name == "valid" && (obj.Metadata.Name != "a" || obj.Metadata.Namespace != "b" || string(obj.Status["k"]) != "1") {
					t.Errorf("got %+v", obj)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestDecodeSpec(t *testing.T) {
	tests := []struct {
		name, spec string
		wantFields []string // the fields the error must name
	}{
		{name: "valid", spec: `{"name":"a","port":80,"routes":[{"prefix":"/x"}]}`},
		{name: "absent spec", spec: ``},
		{name: "null spec", spec: `null`},
		{name: "unknown nested field", spec: `{"routes":[{"prefix":"/a"},{"prefx":"/b"}]}`, wantFields: []string{"spec.routes[1].prefx: unknown field"}},
		{name: "two unknown fields", spec: `{"nmae":"a","routes":[{"x":1}]}`, wantFields: []string{"spec.nmae: unknown field", "spec.routes[0].x: unknown field"}},
		{name: "duplicate field", spec: `{"name":"a","name":"b"}`, wantFields: []string{"spec.name: duplicate field"}},
		{name: "wrong type", spec: `{"port":"eighty"}`, wantFields: []string{"spec.port: must be an integer, not string"}},
		{name: "overflow", spec: `{"port":99999999999}`, wantFields: []string{"spec.port: must be an integer"}},
		{name: "case differs", spec: `{"Name":"a"}`, wantFields: []string{"spec.Name: unknown field"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := &Object{Spec: []byte(tt.spec)}
			var s testSpec
			err := obj.DecodeSpec(&s)
			if len(tt.wantFields) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			var fe *FieldError
			var fes FieldErrors
			if !errors.As(err, &fe) && !errors.As(err, &fes) {
				t.Errorf("error %T is not a field error", err)
			}
			for _, want := range tt.wantFields {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestOneLine(t *testing.T) {
	err := errors.New("rendering templates:\n  line 3:\n\n  value not declared\r\n")
	if got, want := OneLine(err), "rendering templates:; line 3:; value not declared"; got != want {
		t.Errorf("OneLine = %q, want %q", got, want)
	}
}

func TestCheckKind(t *testing.T) {
	tests := []struct {
		apiVersion, kind string
		kinds            []string
		want             string // "" for accepted
	}{
		{"x.io/v1", "A", []string{"A"}, ""},
		{"x.io/v1", "B", []string{"A", "B"}, ""},
		{"x.io/v2", "A", []string{"A"}, `input object: apiVersion "x.io/v2" is not x.io/v1`},
		{"x.io/v1", "C", []string{"A"}, `input object: kind "C" is not A`},
		{"x.io/v1", "C", []string{"A", "B"}, `input object: kind "C" is neither A nor B`},
		{"x.io/v1", "D", []string{"A", "B", "C"}, `input object: kind "D" is not one of A, B, C`},
	}
	for _, tt := range tests {
		o := &Object{APIVersion: tt.apiVersion, Kind: tt.kind}
		got := ""
		if err := o.CheckKind("x.io/v1", tt.kinds...); err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%s %s against %v: %q, want %q", tt.apiVersion, tt.kind, tt.kinds, got, tt.want)
		}
	}
}
