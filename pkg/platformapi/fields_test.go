package platformapi

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/promisekit/promisekit/pkg/kratix"
)

func TestFieldSelector(t *testing.T) {
	tests := []struct {
		fields []Field
		want   string
	}{
		{nil, ""},
		{[]Field{{"spec.aggregatorRef.name", "portal"}}, "spec.aggregatorRef.name=portal"},
		{[]Field{{"spec.a", "x"}, {"metadata.namespace", "team"}}, "spec.a=x,metadata.namespace=team"},
		{[]Field{{"spec.a", `a,b=c\d`}}, `spec.a=a\,b\=c\\d`},
	}
	for _, tt := range tests {
		if got := fieldSelector(tt.fields); got != tt.want {
			t.Errorf("fieldSelector(%v) = %q, want %q", tt.fields, got, tt.want)
		}
	}
}

func obj(ns, name, spec string) *kratix.Object {
	return &kratix.Object{Metadata: kratix.ObjectMeta{Namespace: ns, Name: name}, Spec: json.RawMessage(spec)}
}

// lister is an API that cannot select: Where selects after its List.
type lister []*kratix.Object

func (l lister) List(context.Context, Resource, string) ([]*kratix.Object, error) { return l, nil }
func (l lister) Delete(context.Context, Resource, string, string, string) error   { return nil }

func TestWhere(t *testing.T) {
	objs := lister{
		obj("a", "one", `{"aggregatorRef":{"name":"portal","namespace":"platform"}}`),
		obj("b", "two", `{"aggregatorRef":{"name":"edge"}}`),
		obj("a", "three", `{"aggregatorRef":{"name":"portal"}}`),
		obj("a", "four", `{"aggregatorRef":"portal"}`), // not an object: no such field
		obj("c", "five", `not json`),
	}
	tests := []struct {
		fields []Field
		want   []string
	}{
		{nil, []string{"one", "two", "three", "four", "five"}},
		{[]Field{{"spec.aggregatorRef.name", "portal"}}, []string{"one", "three"}},
		{[]Field{{"spec.aggregatorRef.name", "portal"}, {"spec.aggregatorRef.namespace", "platform"}}, []string{"one"}},
		// A missing field is "", as the API server's selector has it.
		{[]Field{{"spec.aggregatorRef.namespace", ""}}, []string{"two", "three", "four", "five"}},
		{[]Field{{"metadata.namespace", "a"}, {"metadata.name", "three"}}, []string{"three"}},
		{[]Field{{"status.anything", "x"}}, nil},
	}
	for _, tt := range tests {
		got, err := Where(objs, tt.fields...).List(context.Background(), Resource{}, "")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, o := range got {
			names = append(names, o.Metadata.Name)
		}
		if !slices.Equal(names, tt.want) {
			t.Errorf("Where(%v): %q, want %q", tt.fields, names, tt.want)
		}
	}
}
