package render

import (
	"bytes"
	"embed"
	"encoding/json"
	"io/fs"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
)

// testdata/app: a #@data/values-schema with validation rules, a template
// giving two documents (plus empty ones) and a .star library it load()s.
// testdata/strict: a template with an ambiguous YAML literal.
//
//go:embed testdata
var testdataFS embed.FS

// values is a stage's data values as a Go type.
type values struct {
	Name     string `json:"name"`
	Replicas int    `json:"replicas"`
	Port     int    `json:"port"`
	Version  string `json:"version,omitempty"`
}

func load(t testing.TB, dir string) *Templates {
	t.Helper()
	tp, err := LoadSets(testdataFS, dir)
	if err != nil {
		t.Fatalf("LoadSets(%s): %v", dir, err)
	}
	return tp
}

func docsString(docs []json.RawMessage) string {
	var b strings.Builder
	for _, d := range docs {
		b.Write(d)
		b.WriteByte('\n')
	}
	return b.String()
}

const (
	wantService = `{"apiVersion":"v1","kind":"Service","metadata":{"labels":{"app.kubernetes.io/managed-by":"promisekit","app.kubernetes.io/name":"web"},"name":"web-app"},"spec":{"ports":[{"port":80}]}}`
	// version "1.10" stays a string: ytt quotes ambiguous data values.
	wantDeployment = `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"annotations":{"example.com/version":"1.10"},"labels":{"app.kubernetes.io/managed-by":"promisekit","app.kubernetes.io/name":"web"},"name":"web-app"},"spec":{"replicas":3}}`
)

func TestRender(t *testing.T) {
	tests := []struct {
		name    string
		values  any
		want    []string
		wantErr []string // substrings of the error, in any order
	}{
		{
			name:   "struct values",
			values: values{Name: "web", Replicas: 3, Port: 80, Version: "1.10"},
			want:   []string{wantService, wantDeployment},
		},
		{
			name:   "map values",
			values: map[string]any{"name": "web", "replicas": 3, "port": 80, "version": "1.10"},
			want:   []string{wantService, wantDeployment},
		},
		{
			name:   "schema defaults fill omitted values",
			values: map[string]any{"name": "db"},
			want: []string{
				`{"apiVersion":"v1","kind":"Service","metadata":{"labels":{"app.kubernetes.io/managed-by":"promisekit","app.kubernetes.io/name":"db"},"name":"db-app"},"spec":{"ports":[{"port":8080}]}}`,
				`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"annotations":{"example.com/version":""},"labels":{"app.kubernetes.io/managed-by":"promisekit","app.kubernetes.io/name":"db"},"name":"db-app"},"spec":{"replicas":1}}`,
			},
		},
		{
			name:    "value not in the schema",
			values:  map[string]any{"name": "web", "replicaz": 2},
			wantErr: []string{"not declared in schema", "found: replicaz", `did you mean "replicas"`},
		},
		{
			name:    "wrong type",
			values:  map[string]any{"name": "web", "port": "eighty"},
			wantErr: []string{"port", "schema.yml"},
		},
		{
			name:    "lambda validation names the field",
			values:  values{Name: "web", Replicas: 1, Port: 70000},
			wantErr: []string{"port", "must be: a port between 1 and 65535", "by: testdata/app/schema.yml:"},
		},
		{
			name:    "second lambda validation",
			values:  values{Name: "web", Replicas: 11, Port: 80},
			wantErr: []string{"replicas", "must be: between 1 and 10"},
		},
		{
			name:    "named validation names the field",
			values:  values{Name: "", Replicas: 1, Port: 80},
			wantErr: []string{"name", "length >= 1", "by: testdata/app/schema.yml:3"},
		},
		{
			name:    "unencodable values",
			values:  map[string]any{"name": make(chan int)},
			wantErr: []string{"encoding data values"},
		},
	}
	tp := load(t, "testdata/app")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			docs, err := tp.Render(tc.values)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("rendered %s; want an error", docsString(docs))
				}
				for _, s := range tc.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error does not contain %q:\n%v", s, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if got, want := docsString(docs), strings.Join(tc.want, "\n")+"\n"; got != want {
				t.Errorf("documents:\n%s\nwant:\n%s", got, want)
			}
			for i, d := range docs {
				if !json.Valid(d) {
					t.Errorf("document %d is not JSON: %s", i, d)
				}
			}
		})
	}
}

// TestRenderStrictYAML: an ambiguous literal in a template is an error, not
// a silent bool.
func TestRenderStrictYAML(t *testing.T) {
	_, err := load(t, "testdata/strict").Render(map[string]any{"name": "x"})
	if err == nil {
		t.Fatal("template with `enabled: on` rendered; want a strict YAML error")
	}
	for _, s := range []string{"cm.yml", "Strict parsing", "'on'"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error does not contain %q: %v", s, err)
		}
	}
}

// TestRenderDropsEmptyDocuments: app.yml holds two empty documents (a
// comment-only one, one that is None, and a trailing ---); only the two
// objects come out.
func TestRenderDropsEmptyDocuments(t *testing.T) {
	src, err := testdataFS.ReadFile("testdata/app/app.yml")
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(src, []byte("\n---")); n < 4 {
		t.Fatalf("app.yml has %d document separators; the test needs empty documents", n)
	}
	docs, err := load(t, "testdata/app").Render(values{Name: "web", Replicas: 1, Port: 80})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 {
		t.Fatalf("got %d documents, want 2:\n%s", len(docs), docsString(docs))
	}
	for i, d := range docs {
		if s := string(bytes.TrimSpace(d)); s == "null" || s == "{}" || s == "" {
			t.Errorf("document %d is empty: %q", i, s)
		}
	}
	// Only empty documents: no output, no error.
	only := fstest.MapFS{"t/empty.yml": {Data: []byte("---\n#! nothing\n--- #@ None\n---\n")}}
	tp, err := LoadSets(only, "t")
	if err != nil {
		t.Fatal(err)
	}
	docs, err = tp.Render(map[string]any{})
	if err != nil || len(docs) != 0 {
		t.Errorf("Render = %s, %v; want no documents", docsString(docs), err)
	}
}

// TestRenderNonStringKey: a map key that is not a string (a YAML 1: or
// true:) has no JSON form; it is an error naming the document, not a
// crash, and not quietly turned into a string.
func TestRenderNonStringKey(t *testing.T) {
	for _, body := range []string{"kind: ConfigMap\ndata:\n  1: one\n", "kind: ConfigMap\ndata:\n  true: \"y\"\n"} {
		tp, err := LoadSets(fstest.MapFS{"t/cm.yml": {Data: []byte(body)}}, "t")
		if err != nil {
			t.Fatal(err)
		}
		docs, err := tp.Render(map[string]any{})
		if err == nil || !strings.Contains(err.Error(), "output document 0: a map key is not a string") {
			t.Errorf("%q: Render = %s, %v; want the key refused", body, docsString(docs), err)
		}
	}
}

// TestRenderDeterministic: the same values give byte-identical output, also
// from a second LoadSets and from another fs.FS.
func TestRenderDeterministic(t *testing.T) {
	v := values{Name: "web", Replicas: 3, Port: 80, Version: "1.10"}
	first, err := load(t, "testdata/app").Render(v)
	if err != nil {
		t.Fatal(err)
	}
	want := docsString(first)
	dirFS, err := LoadSets(os.DirFS("testdata/app"), ".")
	if err != nil {
		t.Fatal(err)
	}
	sources := map[string]*Templates{"same": load(t, "testdata/app"), "reloaded": load(t, "testdata/app"), "os.DirFS at .": dirFS}
	for name, tp := range sources {
		for i := range 3 {
			docs, err := tp.Render(v)
			if err != nil {
				t.Fatalf("%s render %d: %v", name, i, err)
			}
			if got := docsString(docs); got != want {
				t.Fatalf("%s render %d differs:\n%s\nwant:\n%s", name, i, got, want)
			}
		}
	}
}

// TestRenderConcurrent renders from 16 goroutines; run with -race.
func TestRenderConcurrent(t *testing.T) {
	shared := load(t, "testdata/app")
	other := load(t, "testdata/app")
	const workers = 16
	want := make([]string, workers)
	for i := range workers {
		docs, err := shared.Render(values{Name: "w" + string(rune('a'+i)), Replicas: 1 + i%10, Port: 1000 + i})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = docsString(docs)
	}
	var wg sync.WaitGroup
	errs := make(chan string, workers*4)
	for i := range workers {
		tp := shared
		if i%2 == 1 {
			tp = other
		}
		wg.Go(func() {
			for range 4 {
				docs, err := tp.Render(values{Name: "w" + string(rune('a'+i)), Replicas: 1 + i%10, Port: 1000 + i})
				if err != nil {
					errs <- err.Error()
					return
				}
				if got := docsString(docs); got != want[i] {
					errs <- "worker output differs:\n" + got
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestLoadPaths: a set keeps its files' paths from fsys's root, in walk
// order; a walk that fails names the directory.
func TestLoadPaths(t *testing.T) {
	mem := fstest.MapFS{
		"tpl/a.yml":       {Data: []byte("---\na: 1\n")},
		"tpl/sub/b.yml":   {Data: []byte("---\nb: 2\n")},
		"empty":           {Mode: fs.ModeDir | 0o755},
		"tpl2/README.txt": {Data: []byte("not yaml")},
	}
	tests := []struct {
		name      string
		dir       string
		wantPaths []string
		wantErr   string
	}{
		{"paths from the root", "tpl", []string{"tpl/a.yml", "tpl/sub/b.yml"}, ""},
		{"dot is the root", ".", []string{"tpl/a.yml", "tpl/sub/b.yml", "tpl2/README.txt"}, ""},
		{"no files", "empty", nil, "loading templates [empty]: no files"},
		{"not a path fs.FS takes", "tpl/", nil, "loading templates [tpl/]: no files"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tp, err := LoadSets(mem, tc.dir)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("LoadSets = %v, want error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range tp.sources {
				got = append(got, s.path)
			}
			if strings.Join(got, ",") != strings.Join(tc.wantPaths, ",") {
				t.Errorf("paths %v, want %v", got, tc.wantPaths)
			}
		})
	}
}

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

// TestRenderLoadPathsRelative: load() resolves relative to the template, so
// the set renders the same from every root it is loaded at.
func TestRenderLoadPathsRelative(t *testing.T) {
	want := wantService + "\n" + wantDeployment + "\n"
	v := values{Name: "web", Replicas: 3, Port: 80, Version: "1.10"}
	tests := []struct {
		name string
		fsys fs.FS
		dir  string
	}{
		{"embed", testdataFS, "testdata/app"},
		{"os.DirFS", os.DirFS("testdata"), "app"},
		{"os.DirFS at .", os.DirFS("testdata/app"), "."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tp, err := LoadSets(tc.fsys, tc.dir)
			if err != nil {
				t.Fatal(err)
			}
			docs, err := tp.Render(v)
			if err != nil {
				t.Fatal(err)
			}
			if got := docsString(docs); got != want {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func BenchmarkRender(b *testing.B) {
	tp := load(b, "testdata/app")
	v := values{Name: "web", Replicas: 3, Port: 80, Version: "1.10"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tp.Render(v); err != nil {
			b.Fatal(err)
		}
	}
}
