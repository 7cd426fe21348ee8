package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"carvel.dev/ytt/pkg/orderedmap"
	"carvel.dev/ytt/pkg/yamlmeta"

	"github.com/promisekit/promisekit/pkg/overlays"
)

// documentsPath is the name under which the stage's documents are given to
// ytt. It holds a '/', which no file of a ConfigMap can, so no overlay
// file can take its place; ytt reads it as plain YAML, never as a
// template, so nothing in a request can run as ytt code.
const documentsPath = "stage/documents.yml"

// Overlays is a platform's overlay set (package overlays) made ready for
// ytt. It is safe for concurrent use.
type Overlays struct {
	sources []source // by name
}

// NewOverlays returns set's files as ytt sources.
func NewOverlays(set *overlays.Set) *Overlays {
	o := &Overlays{}
	for _, f := range set.Files {
		o.sources = append(o.sources, source{path: f.Name, data: f.Data})
	}
	return o
}

// Pass is the outcome of one overlay pass.
type Pass struct {
	// Docs are the documents after the overlays, as JSON objects, in
	// ytt's output order: the stage's, then those the overlay files
	// emit, by file. Empty documents are dropped.
	Docs  []json.RawMessage
	nodes []*yamlmeta.Document // Docs' nodes, which know their positions

	o      *Overlays
	values []byte
	in     []byte
}

// Apply passes docs through the overlays in one ytt run, with values as
// data values. One run for all of a stage's documents rather than one per
// document: ytt compiles the overlay files once per run, which is most of
// its cost, and an overlay selects its documents itself
// (overlay.subset({"kind": ...})), so a value per document adds nothing
// that the document does not already say.
func (o *Overlays) Apply(values any, docs []json.RawMessage) (*Pass, error) {
	valuesYAML, err := dataValues(values)
	if err != nil {
		return nil, err
	}
	var in bytes.Buffer
	for i, d := range docs {
		in.WriteString("---\n")
		if err := strictFlow(&in, d); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		in.WriteByte('\n')
	}
	p := &Pass{o: o, values: valuesYAML, in: in.Bytes()}
	out, err := p.run(o.sources)
	if err != nil {
		return nil, err
	}
	p.Docs, p.nodes, err = documents(out)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// strictFlow writes a JSON document as YAML that ytt's strict parsing
// reads back as the same values. JSON is YAML in which every string is
// quoted, so a plain string such as an ARN, with colons, is not refused;
// only null must be tagged, since strict YAML takes a bare null for an
// ambiguous string.
func strictFlow(w *bytes.Buffer, js json.RawMessage) error {
	d := json.NewDecoder(bytes.NewReader(js))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return err
	}
	return writeFlow(w, v)
}

func writeFlow(w *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case nil:
		w.WriteString("!!null null")
	case map[string]any:
		w.WriteByte('{')
		for i, k := range slices.Sorted(maps.Keys(v)) {
			if i > 0 {
				w.WriteString(", ")
			}
			key, err := json.Marshal(k)
			if err != nil {
				return err
			}
			w.Write(key)
			w.WriteString(": ")
			if err := writeFlow(w, v[k]); err != nil {
				return err
			}
		}
		w.WriteByte('}')
	case []any:
		w.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				w.WriteString(", ")
			}
			if err := writeFlow(w, e); err != nil {
				return err
			}
		}
		w.WriteByte(']')
	default: // strings, json.Number, bool: JSON as it is
		js, err := json.Marshal(v)
		if err != nil {
			return err
		}
		w.Write(js)
	}
	return nil
}

// run runs ytt on the documents and the given overlay files: the
// documents first, then the overlay files by name, as ytt applies overlays
// in file order.
func (p *Pass) run(overlays []source) (*yamlmeta.DocumentSet, error) {
	opts := options(p.values)
	opts.FileMarksOpts.FileMarks = []string{documentsPath + ":type=yaml-plain"}
	return run(opts, append([]source{{path: documentsPath, data: p.in}}, overlays...), "applying overlays")
}

// documents converts ytt's output into JSON objects, keeping each one's
// node (for Origin); empty documents are dropped. Keys come out sorted, as
// everywhere in our output.
func documents(ds *yamlmeta.DocumentSet) ([]json.RawMessage, []*yamlmeta.Document, error) {
	docs := make([]json.RawMessage, 0, len(ds.Items))
	nodes := make([]*yamlmeta.Document, 0, len(ds.Items))
	for i, d := range ds.Items {
		v, err := plainValue(d)
		if err != nil {
			return nil, nil, fmt.Errorf("output document %d: %w", i, err)
		}
		if v == nil {
			continue
		}
		js, err := json.Marshal(v)
		if err != nil {
			return nil, nil, fmt.Errorf("output document %d: %w", i, err)
		}
		docs = append(docs, js)
		nodes = append(nodes, d)
	}
	return docs, nodes, nil
}

// plainValue is a document's value as Go maps and slices, as ytt's own
// JSON output makes it. ytt panics on a map key that is not a string (a
// YAML 1: or true: key, which no Kubernetes object has): that is an
// error here, not a crash. Any other panic is not ours to hide.
func plainValue(d *yamlmeta.Document) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			if msg, ok := r.(string); !ok || msg != nonStringKey {
				panic(r)
			}
			err = errors.New("a map key is not a string: quote it")
		}
	}()
	return orderedmap.Conversion{Object: d.AsInterface()}.AsUnorderedStringMaps(), nil
}

// nonStringKey is ytt's panic for a map key that is not a string
// (carvel.dev/ytt/pkg/orderedmap, AsUnorderedStringMaps).
const nonStringKey = "Expected key to be string"

// Origin returns "file:line" of the overlay line that set the node at path
// (map keys from the top) in Docs[i], or of the document itself with no
// path; "" when the node is the stage's own, absent, or of no known line.
// ytt gives a map item the position of the overlay item merged or
// replaced into it, and a document the position of the template line that
// emitted it.
func (p *Pass) Origin(i int, path ...string) string {
	if i < 0 || i >= len(p.nodes) {
		return ""
	}
	pos := p.nodes[i].Position
	var node any = p.nodes[i].Value
	for _, key := range path {
		m, ok := node.(*yamlmeta.Map)
		if !ok {
			return ""
		}
		var item *yamlmeta.MapItem
		for _, it := range m.Items {
			if k, ok := it.Key.(string); ok && k == key {
				item = it
			}
		}
		if item == nil {
			return ""
		}
		pos, node = item.Position, item.Value
	}
	if !pos.IsKnown() || pos.GetFile() == documentsPath || pos.GetFile() == "" {
		return ""
	}
	return fmt.Sprintf("%s:%d", pos.GetFile(), pos.LineNum())
}

// Blame finds the overlay document that makes broken true, for a rule
// whose breach leaves no node to point at (a document or a key removed):
// it applies the overlay documents one more at a time, in ytt's order,
// and returns "file:line" of the first after which broken holds, or ""
// when none does alone. Libraries (.star, *.lib.yml) are always given.
// It runs ytt once per overlay document at most, and only on a run that
// already failed.
func (p *Pass) Blame(broken func(docs []json.RawMessage) bool) string {
	var libs, overlays []source
	for _, s := range p.o.sources {
		if isLibrary(s.path) {
			libs = append(libs, s)
		} else {
			overlays = append(overlays, s)
		}
	}
	for k, s := range overlays {
		for _, cut := range documentStarts(s.data) {
			prefix := slices.Concat(libs, overlays[:k], []source{{path: s.path, data: s.data[:cut.end]}})
			ds, err := p.run(prefix)
			if err != nil {
				continue // a cut through a Starlark block: try more of the file
			}
			docs, _, err := documents(ds)
			if err == nil && broken(docs) {
				return fmt.Sprintf("%s:%d", s.path, cut.line)
			}
		}
	}
	return ""
}

func isLibrary(name string) bool {
	return strings.HasSuffix(name, ".star") || strings.HasSuffix(name, ".lib.yml") || strings.HasSuffix(name, ".lib.yaml")
}

// docCut is one document of an overlay file: its first line (the first of
// the annotations above its ---) and the byte offset where it ends.
type docCut struct {
	line int
	end  int
}

// isAnnotation reports whether line is a ytt annotation (#@name ...),
// which belongs to the node below, rather than code (#@ ...).
func isAnnotation(line string) bool {
	return strings.HasPrefix(line, "#@") && len(line) > 2 && line[2] != ' ' && line[2] != '\t' && line[2] != '\n'
}

// documentStarts splits a ytt file into its documents by its --- lines;
// a document's annotation lines just above its --- are its own.
func documentStarts(data []byte) []docCut {
	lines := strings.SplitAfter(string(data), "\n")
	starts := []int{0} // line indexes where documents start
	offsets := make([]int, len(lines)+1)
	for i, l := range lines {
		offsets[i+1] = offsets[i] + len(l)
	}
	for i, l := range lines {
		t := strings.TrimRight(l, "\r\n")
		if t != "---" && !strings.HasPrefix(t, "--- ") {
			continue
		}
		first := i
		for first > 0 && isAnnotation(lines[first-1]) {
			first--
		}
		if first > starts[len(starts)-1] { // else the file's first document
			starts = append(starts, first)
		}
	}
	cuts := make([]docCut, len(starts))
	for j, s := range starts {
		end := len(data)
		if j+1 < len(starts) {
			end = offsets[starts[j+1]]
		}
		cuts[j] = docCut{line: s + 1, end: end}
	}
	return cuts
}
