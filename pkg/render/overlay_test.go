package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/promisekit/promisekit/pkg/overlays"
)

// readOverlays is the overlay set of files, in ytt's order (by name).
func readOverlays(t testing.TB, files map[string]string) *Overlays {
	t.Helper()
	set := &overlays.Set{Dir: "test"}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		set.Files = append(set.Files, overlays.File{Name: name, Data: []byte(files[name])})
	}
	return NewOverlays(set)
}

var stageDocs = []json.RawMessage{
	json.RawMessage(`{"apiVersion":"v1","data":{"port":"8080","replicas":"3"},"kind":"ConfigMap","metadata":{"name":"web","namespace":"team-a"}}`),
	json.RawMessage(`{"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"name":"web","namespace":"team-a"},"spec":{"rules":[{"backendRefs":[{"name":"web","port":8080}]}]}}`),
}

type testValues struct {
	Promise string `json:"promise"`
	Team    string `json:"team"`
}

const labelAll = `#@ load("@ytt:overlay", "overlay")
#@ load("@ytt:data", "data")

#@overlay/match by=overlay.all, expects="0+"
---
metadata:
  #@overlay/match missing_ok=True
  labels:
    #@overlay/match missing_ok=True
    platform.example.com/promise: #@ data.values.promise
`

const wave = `#@ load("@ytt:overlay", "overlay")

#@overlay/match by=overlay.subset({"kind": "ConfigMap"}), expects="0+"
---
metadata:
  #@overlay/match missing_ok=True
  annotations:
    #@overlay/match missing_ok=True
    argocd.argoproj.io/sync-wave: "-1"
`

func TestOverlaysApply(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		want    []string
		wantErr []string
	}{
		{
			name:  "matching nothing changes nothing",
			files: map[string]string{"none.yml": "#@ load(\"@ytt:overlay\", \"overlay\")\n#@overlay/match by=overlay.subset({\"kind\": \"Gateway\"}), expects=\"0+\"\n---\nmetadata:\n  #@overlay/match missing_ok=True\n  labels: {a: b}\n"},
			want:  []string{string(stageDocs[0]), string(stageDocs[1])},
		},
		{
			name:  "label everything from a data value, then a wave on one kind, in file order",
			files: map[string]string{"10-labels.yml": labelAll, "20-wave.yaml": wave},
			want: []string{
				`{"apiVersion":"v1","data":{"port":"8080","replicas":"3"},"kind":"ConfigMap","metadata":{"annotations":{"argocd.argoproj.io/sync-wave":"-1"},"labels":{"platform.example.com/promise":"widgets"},"name":"web","namespace":"team-a"}}`,
				`{"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"labels":{"platform.example.com/promise":"widgets"},"name":"web","namespace":"team-a"},"spec":{"rules":[{"backendRefs":[{"name":"web","port":8080}]}]}}`,
			},
		},
		{
			name: "a library and an emitted document",
			files: map[string]string{
				"names.star": "def team_label(v):\n  return \"team-\" + v.team\nend\n",
				"quota.yml":  "#@ load(\"@ytt:data\", \"data\")\n#@ load(\"names.star\", \"team_label\")\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: #@ team_label(data.values)\n",
			},
			want: []string{string(stageDocs[0]), string(stageDocs[1]), `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"team-a"}}`},
		},
		{
			name:    "not valid ytt names the file and line",
			files:   map[string]string{"10-labels.yml": labelAll, "20-bad.yml": "#@ load(\"@ytt:overlay\", \"overlay\")\n\n#@overlay/match by=overlay.subset({\"kind\": \"Service\"})\n---\nmetadata: {}\n"},
			wantErr: []string{"20-bad.yml:4", "Expected number of matched nodes to be 1, but was 0"},
		},
		{
			name:    "not valid YAML names the file and line",
			files:   map[string]string{"bad.yml": "metadata:\n  labels: [\n"},
			wantErr: []string{"bad.yml", "line 2"},
		},
		{
			name:    "an ambiguous literal is an error (strict YAML)",
			files:   map[string]string{"on.yml": "#@ load(\"@ytt:overlay\", \"overlay\")\n#@overlay/match by=overlay.all, expects=\"0+\"\n---\nmetadata:\n  #@overlay/match missing_ok=True\n  labels: {enabled: on}\n"},
			wantErr: []string{"on.yml", "Strict parsing"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := readOverlays(t, tc.files)
			pass, err := o.Apply(testValues{Promise: "widgets", Team: "a"}, stageDocs)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("applied: %s; want an error", docsString(pass.Docs))
				}
				for _, s := range tc.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error does not contain %q:\n%v", s, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if got, want := docsString(pass.Docs), strings.Join(tc.want, "\n")+"\n"; got != want {
				t.Errorf("documents:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// TestOverlaysOrigin: a node an overlay set carries the overlay's file and
// line; the stage's own nodes carry none.
func TestOverlaysOrigin(t *testing.T) {
	o := readOverlays(t, map[string]string{"10-labels.yml": labelAll, "20-wave.yaml": wave, "30-port.yml": "#@ load(\"@ytt:overlay\", \"overlay\")\n#@overlay/match by=overlay.subset({\"kind\": \"ConfigMap\"})\n---\ndata:\n  port: \"9090\"\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: extra}\n"})
	pass, err := o.Apply(testValues{Promise: "widgets"}, stageDocs)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		doc  int
		path []string
		want string
	}{
		{0, []string{"data", "port"}, "30-port.yml:5"},
		{0, []string{"data", "replicas"}, ""},
		{0, []string{"metadata", "annotations", "argocd.argoproj.io/sync-wave"}, "20-wave.yaml:9"},
		{0, []string{"metadata", "labels"}, "10-labels.yml:8"},
		{1, []string{"kind"}, ""},
		{1, []string{"no", "such"}, ""},
		{0, nil, ""},
		{2, nil, "30-port.yml:6"},
		{3, nil, ""},
	}
	for _, tc := range tests {
		if got := pass.Origin(tc.doc, tc.path...); got != tc.want {
			t.Errorf("Origin(%d, %q) = %q, want %q", tc.doc, tc.path, got, tc.want)
		}
	}
}

// TestOverlaysBlame: a breach that leaves no node behind (a removal) is
// traced to the overlay document that made it, not to the file before.
func TestOverlaysBlame(t *testing.T) {
	remove := `#@ load("@ytt:overlay", "overlay")

#@overlay/match by=overlay.subset({"kind": "ConfigMap"})
---
metadata:
  #@overlay/match missing_ok=True
  labels:
    #@overlay/match missing_ok=True
    a: b

#@overlay/match by=overlay.subset({"kind": "HTTPRoute"})
#@overlay/remove
---
`
	o := readOverlays(t, map[string]string{"10-labels.yml": labelAll, "20-remove.yml": remove, "lib.star": "x = 1\n"})
	pass, err := o.Apply(testValues{Promise: "widgets"}, stageDocs)
	if err != nil {
		t.Fatal(err)
	}
	if len(pass.Docs) != 1 {
		t.Fatalf("got %d documents, want the HTTPRoute removed", len(pass.Docs))
	}
	noRoute := func(docs []json.RawMessage) bool {
		for _, d := range docs {
			if bytes.Contains(d, []byte(`"kind":"HTTPRoute"`)) {
				return false
			}
		}
		return true
	}
	if got, want := pass.Blame(noRoute), "20-remove.yml:11"; got != want {
		t.Errorf("Blame = %q, want %q", got, want)
	}
	if got := pass.Blame(func([]json.RawMessage) bool { return false }); got != "" {
		t.Errorf("Blame of a rule nothing breaks = %q, want \"\"", got)
	}
}

func TestDocumentStarts(t *testing.T) {
	tests := []struct {
		src   string
		lines []int
	}{
		{"a: 1\n", []int{1}},
		{"---\na: 1\n---\nb: 2\n", []int{1, 3}},
		{"#@ load(\"x\", \"y\")\n\n#@overlay/match by=f\n#@overlay/remove\n--- \n#@overlay/match by=g\n---\nc: 3\n", []int{1, 3, 6}},
		{"#@overlay/match by=f\n---\na: 1\n", []int{1}},
	}
	for _, tc := range tests {
		cuts := documentStarts([]byte(tc.src))
		var lines []int
		for i, c := range cuts {
			lines = append(lines, c.line)
			if i == len(cuts)-1 && c.end != len(tc.src) {
				t.Errorf("%q: last document ends at %d, want %d", tc.src, c.end, len(tc.src))
			}
		}
		if fmt.Sprint(lines) != fmt.Sprint(tc.lines) {
			t.Errorf("%q: documents start on lines %v, want %v", tc.src, lines, tc.lines)
		}
	}
}

// TestOverlaysDeterministic: the same overlays over the same documents give
// the same bytes, run after run.
func TestOverlaysDeterministic(t *testing.T) {
	o := readOverlays(t, map[string]string{"10-labels.yml": labelAll, "20-wave.yaml": wave})
	var first string
	for i := range 5 {
		pass, err := o.Apply(testValues{Promise: "widgets"}, stageDocs)
		if err != nil {
			t.Fatal(err)
		}
		got := docsString(pass.Docs)
		if i == 0 {
			first = got
		} else if got != first {
			t.Fatalf("run %d:\n%s\nfirst:\n%s", i, got, first)
		}
	}
}

// TestOverlaysConcurrent is run with -race (the Makefile does): overlay
// passes and template renders in parallel share ytt's package-level state
// under the one lock.
func TestOverlaysConcurrent(t *testing.T) {
	o := readOverlays(t, map[string]string{"10-labels.yml": labelAll, "20-wave.yaml": wave})
	tp := load(t, "testdata/app")
	want, err := o.Apply(testValues{Promise: "widgets"}, stageDocs)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 1 {
				_, err := tp.Render(values{Name: "web", Replicas: 3, Port: 80})
				errs <- err
				return
			}
			pass, err := o.Apply(testValues{Promise: "widgets"}, stageDocs)
			if err == nil && docsString(pass.Docs) != docsString(want.Docs) {
				err = fmt.Errorf("concurrent pass differs:\n%s", docsString(pass.Docs))
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// BenchmarkOverlaysApply is one overlay pass of two files over two
// documents: the cost a stage's run pays for a platform's overlays.
func BenchmarkOverlaysApply(b *testing.B) {
	o := readOverlays(b, map[string]string{"10-labels.yml": labelAll, "20-wave.yaml": wave})
	for b.Loop() {
		if _, err := o.Apply(testValues{Promise: "widgets"}, stageDocs); err != nil {
			b.Fatal(err)
		}
	}
}

// TestOverlaysKeepValues: values that YAML reads as other types, that look
// like ytt code or hold colons come out of a pass exactly as they went in.
func TestOverlaysKeepValues(t *testing.T) {
	doc := json.RawMessage(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"tricky","annotations":{}},` +
		`"data":{"on":"on","yes":"yes","version":"1.10","mode":"0755","arn":"arn:aws:iam::111122223333:role/x","code":"a #@ load('x')","text":"(@= data.values.x @)",` +
		`"unicode":"ü ✓ \u2028","lines":"one\ntwo\n","html":"<b>&</b>","empty":"","tab":"a\tb"},` +
		`"n":{"zero":0,"neg":-1,"big":9007199254740993,"float":1.5,"bool":true,"null":null,"list":[],"map":{}}}`)
	none := "#@ load(\"@ytt:overlay\", \"overlay\")\n#@overlay/match by=overlay.subset({\"kind\": \"Gateway\"}), expects=\"0+\"\n---\nspec: {}\n"
	pass, err := readOverlays(t, map[string]string{"none.yml": none}).Apply(testValues{}, []json.RawMessage{doc})
	if err != nil {
		t.Fatal(err)
	}
	if len(pass.Docs) != 1 {
		t.Fatalf("got %d documents", len(pass.Docs))
	}
	var want, got any
	for _, x := range []struct {
		js  []byte
		out *any
	}{{doc, &want}, {pass.Docs[0], &got}} {
		d := json.NewDecoder(bytes.NewReader(x.js))
		d.UseNumber()
		if err := d.Decode(x.out); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after the pass:\n%s\nbefore:\n%s", pass.Docs[0], doc)
	}
}
