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
	tests := []struct {
		name, in, wantErr string
	}{
		{name: "valid", in: "apiVersion: x.io/v1\nkind: T\nmetadata: {name: a, namespace: b, managedFields: [{}]}\nspec: {name: n}\nstatus: {k: 1}\n"},
		{name: "duplicate key", in: "apiVersion: x.io/v1\nkind: T\nkind: U\nmetadata: {name: a}\n", wantErr: "already set"},
		{name: "no name", in: "apiVersion: x.io/v1\nkind: T\nmetadata: {}\n", wantErr: "metadata.name is required"},
		{name: "no kind", in: "apiVersion: x.io/v1\nmetadata: {name: a}\n", wantErr: "apiVersion and kind"},
		{name: "empty", in: "", wantErr: "empty document"},
		{name: "not yaml", in: "{[", wantErr: "input object"},
		{name: "alias bomb", in: "apiVersion: x.io/v1\nkind: T\nmetadata: {name: a}\n" + aliasBomb(), wantErr: "input object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := ParseObject([]byte(tt.in))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if obj.Metadata.Name != "a" || obj.Metadata.Namespace != "b" || string(obj.Status["k"]) != "1" {
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

// aliasBomb is a billion-laughs document: the YAML decoder must refuse it
// rather than expand it.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	return b.String()
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
