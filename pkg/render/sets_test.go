package render

import (
	"strings"
	"testing"
	"testing/fstest"
)

// TestLoadSets: sets combine into one run (an overlay in one reaches the
// documents of another), paths keep their directory (so error positions
// name the file as the repository does), and a missing set is skipped.
func TestLoadSets(t *testing.T) {
	fsys := fstest.MapFS{
		"stage/schema.yml": {Data: []byte("#@data/values-schema\n---\nname: \"\"\n")},
		"stage/doc.yml":    {Data: []byte("#@ load(\"@ytt:data\", \"data\")\n---\nkind: Thing\nname: #@ data.values.name\n")},
		"impl/stage/label.yml": {Data: []byte(`#@ load("@ytt:overlay", "overlay")
#@overlay/match by=overlay.subset({"kind": "Thing"})
---
#@overlay/match missing_ok=True
label: added
`)},
		"impl/stage/broken.txt": {Data: []byte("not a template")},
		"bad/doc.yml":           {Data: []byte("#@ load(\"@ytt:data\", \"data\")\n---\nname: #@ data.values.nope\n")},
	}
	tests := []struct {
		name    string
		dirs    []string
		want    string // the one document, as JSON
		wantErr string
	}{
		{"one set", []string{"stage"}, `{"kind":"Thing","name":"x"}`, ""},
		{"an overlay from another set", []string{"stage", "impl/stage"}, `{"kind":"Thing","label":"added","name":"x"}`, ""},
		{"a set that does not exist", []string{"stage", "impl/none"}, `{"kind":"Thing","name":"x"}`, ""},
		{"errors name the file with its directory", []string{"stage", "bad"}, "", "bad/doc.yml:3"},
		{"nothing at all", []string{"none"}, "", "no files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := LoadSets(fsys, tt.dirs...)
			var docs []string
			if err == nil {
				raw, rerr := tpl.Render(map[string]string{"name": "x"})
				err = rerr
				for _, d := range raw {
					docs = append(docs, string(d))
				}
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) != 1 || docs[0] != tt.want {
				t.Fatalf("documents %q, want [%s]", docs, tt.want)
			}
		})
	}
}
