// Package render runs ytt in-process: a stage's templates embedded in its
// binary (LoadSets, Render), and the platform's overlays over the
// documents a stage writes (NewOverlays, Apply; overlay.go).
//
// Each template set holds ytt templates and a `#@data/values-schema` file.
// The stage passes its data values as a Go value; ytt checks them against
// the schema, so a value the templates do not expect fails with the field
// and line. ytt quotes the offending data-value line in its errors, so
// never pass a secret as a data value. Every ytt run holds a process-wide
// lock: ytt's compiler writes package-level options of its Starlark
// interpreter on every compile, which races when two runs overlap.
package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"

	"carvel.dev/ytt/pkg/cmd/template"
	"carvel.dev/ytt/pkg/cmd/ui"
	"carvel.dev/ytt/pkg/files"
	"carvel.dev/ytt/pkg/yamlmeta"
)

// yttMu serialises renders: the race is in ytt's package-level state
// (github.com/k14s/starlark-go/resolve.Allow*), so a lock per Templates
// value would not be enough.
var yttMu sync.Mutex

// valuesPath is the name the data values are presented to ytt under, as if
// passed with --data-values-file. It is outside any template directory.
const valuesPath = "promisekit-data-values.yml"

// runLocked runs ytt under yttMu, releasing it even if ytt panics, with
// ytt's own output discarded (errors come back in the Output).
func runLocked(opts *template.Options, in []*files.File) template.Output {
	silent := ui.NewCustomWriterTTY(false, io.Discard, io.Discard)
	yttMu.Lock()
	defer yttMu.Unlock()
	return opts.RunWithFiles(template.Input{Files: in}, silent)
}

// options are ytt's options for one run: strict YAML, and values (from
// dataValues) presented as if passed with --data-values-file.
func options(values []byte) *template.Options {
	opts := template.NewOptions()
	opts.StrictYAML = true
	opts.DataValuesFlags.FromFiles = []string{valuesPath}
	opts.DataValuesFlags.ReadFilesFunc = func(p string) ([]*files.File, error) {
		if p != valuesPath {
			return nil, fmt.Errorf("unexpected data values file %q", p)
		}
		f, err := files.NewFileFromSource(files.NewBytesSource(valuesPath, values))
		if err != nil {
			return nil, err
		}
		return []*files.File{f}, nil
	}
	return opts
}

// Templates is a parsed template set, safe for concurrent use.
type Templates struct {
	sources []source
}

type source struct {
	path string
	data []byte
}

// LoadSets reads every file below each of dirs in fsys (usually an
// embed.FS) into one template set, so that one render combines, say, a
// stage's templates and those of the gateway implementation it was
// configured with: overlays in one set apply to the documents of the
// others, and ytt compiles once. Paths stay relative to fsys's root, so
// error positions name the file as the repository does. A dir that does not
// exist is skipped: an implementation may have nothing to add to a stage.
func LoadSets(fsys fs.FS, dirs ...string) (*Templates, error) {
	var t Templates
	for _, dir := range dirs {
		if _, err := fs.Stat(fsys, dir); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			t.sources = append(t.sources, source{path: p, data: data})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("loading templates %s: %w", dir, err)
		}
	}
	if len(t.sources) == 0 {
		return nil, fmt.Errorf("loading templates %v: no files", dirs)
	}
	return &t, nil
}

// Render renders the templates with values as data values and returns the
// output documents as JSON objects, in template order. Empty documents are
// dropped.
func (t *Templates) Render(values any) ([]json.RawMessage, error) {
	valuesYAML, err := dataValues(values)
	if err != nil {
		return nil, err
	}
	ds, err := run(options(valuesYAML), t.sources, "rendering templates")
	if err != nil {
		return nil, err
	}
	docs, _, err := documents(ds)
	return docs, err
}

// run runs ytt on sources with opts and returns the documents it wrote;
// what names the run in errors. ytt's messages may start with a line
// break: the error is shown on one line, after what.
func run(opts *template.Options, sources []source, what string) (*yamlmeta.DocumentSet, error) {
	in := make([]*files.File, 0, len(sources))
	for _, s := range sources {
		f, err := files.NewFileFromSource(files.NewBytesSource(s.path, s.data))
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", what, s.path, err)
		}
		in = append(in, f)
	}
	out := runLocked(opts, files.NewSortedFiles(in))
	if out.Err != nil {
		return nil, fmt.Errorf("%s: %s", what, strings.TrimLeft(out.Err.Error(), " \n"))
	}
	if out.DocSet == nil {
		return nil, fmt.Errorf("%s: no output", what)
	}
	return out.DocSet, nil
}

// dataValues encodes values for ytt as indented JSON, which is YAML too.
// YAML encoders leave strings such as "2001:db8::/32" unquoted, which
// ytt's strict YAML refuses, and a bare yes or 1.10 would change type; in
// JSON every string is quoted. The indentation keeps one value to a line,
// so ytt's errors point at the value's line.
func dataValues(values any) ([]byte, error) {
	js, err := json.MarshalIndent(values, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding data values: %w", err)
	}
	return js, nil
}
