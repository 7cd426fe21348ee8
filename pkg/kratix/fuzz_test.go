package kratix

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseObject feeds arbitrary bytes through the input path every stage
// takes: parse the object, decode its spec strictly. Whatever the input, it
// must return an error or a usable object, never panic or hang; and an error
// must fit on the one stderr line Kratix shows.
func FuzzParseObject(f *testing.F) {
	for _, seed := range []string{
		"apiVersion: x.io/v1\nkind: T\nmetadata: {name: a, namespace: b}\nspec: {name: n, port: 80, routes: [{prefix: /a}]}\n",
		"apiVersion: x.io/v1\nkind: T\nmetadata: {name: a}\nspec: {routes: [{prefx: /b}]}\nstatus: {k: {schemaVersion: 1}}\n",
		"apiVersion: x.io/v1\nkind: T\nmetadata: {name: ../../etc}\nspec: null\n",
		"{\"apiVersion\":\"x.io/v1\",\"kind\":\"T\",\"metadata\":{\"name\":\"a\"},\"spec\":{\"port\":\"x\"}}",
		"a: &a [*a]\n",
		"apiVersion: x.io/v1\nkind: T\nmetadata: {name: a}\nspec: {name: n, name: m}\n",
	} {
		f.Add([]byte(seed))
	}
	// Every promise's hostile corpus (internal/hostile) seeds it too.
	corpora, _ := filepath.Glob("../../*/*/testdata/hostile/*/*.yaml")
	more, _ := filepath.Glob("../../test/example/testdata/hostile/*/*.yaml")
	for _, file := range append(corpora, more...) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	if len(corpora) == 0 {
		f.Fatal("no hostile corpus found to seed from")
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, err := ParseObject(data)
		if err != nil {
			return
		}
		if obj.Metadata.Name == "" || obj.Kind == "" {
			t.Fatalf("accepted an object without name or kind: %q", data)
		}
		var spec testSpec
		if err := obj.DecodeSpec(&spec); err != nil {
			if line := OneLine(err); strings.ContainsAny(line, "\n\r") {
				t.Fatalf("error spans lines: %q", line)
			}
		}
	})
}
