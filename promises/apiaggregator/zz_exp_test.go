package apiaggregator

import (
	"os"
	"regexp"
	"testing"
	"testing/fstest"

	"github.com/promisekit/promisekit/pkg/render"
)

func rd(p string) []byte { b, _ := os.ReadFile(p); return b }

var comment = regexp.MustCompile(`(?m)^\s*#!.*\n`)

func benchSet(b *testing.B, fsys fstest.MapFS, v any) {
	b.ReportAllocs()
	for b.Loop() {
		t, _ := render.LoadSets(fsys, "s")
		if _, err := t.Render(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExp(b *testing.B) {
	v := fullTarget(false)
	v.Routes = v.Routes[:1]
	v.Routes[0].Rules = v.Routes[0].Rules[:1]
	v.ReferenceGrant = nil
	v.Backend.Namespace = ""
	v.BodySize = nil
	schema := rd("templates/target/schema.yml")
	routes := rd("templates/target/httproutes.yml")
	b.Run("schema+routes", func(b *testing.B) {
		benchSet(b, fstest.MapFS{"s/schema.yml": {Data: schema}, "s/httproutes.yml": {Data: routes}}, v)
	})
	b.Run("nocomments", func(b *testing.B) {
		benchSet(b, fstest.MapFS{"s/schema.yml": {Data: comment.ReplaceAll(schema, nil)}, "s/httproutes.yml": {Data: comment.ReplaceAll(routes, nil)}}, v)
	})
	b.Run("schema+trivialdoc", func(b *testing.B) {
		benchSet(b, fstest.MapFS{"s/schema.yml": {Data: schema}, "s/doc.yml": {Data: []byte("#@ load(\"@ytt:data\", \"data\")\n---\nkind: Thing\nname: #@ data.values.name\n")}}, v)
	})
}
