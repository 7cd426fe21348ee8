// Package overlays is the stage's side of a platform's ytt overlays: the
// overlay files read from their mounted ConfigMap (Read), the data values of
// a pass (Values), and how a pass is run (Runner).
//
// It does not link ytt. ytt's package initialisation alone costs a stage
// about as much as the rest of its start (docs/decisions.md), so only the
// binaries that render ytt templates anyway (apiaggregator) run a pass in
// process, with package pass; the others start a small sibling binary
// that does (Sibling, Serve), and only when a platform has overlays.
package overlays

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// MaxBytes bounds an overlay set: a ConfigMap holds at most 1 MiB, so a
// larger set is not one the Promise mounted.
const MaxBytes = 1 << 20

// Field is the configuration field the overlays come from: every refusal
// by an overlay names it, so that the request's one line says the
// platform, not the team, must change something.
const Field = "config.overlays"

// File is one overlay file.
type File struct {
	Name string `json:"name"`
	Data []byte `json:"data"`
}

// Set is a platform's overlay set: ytt files that every document a stage
// writes passes through, in the order ytt applies them (by name).
type Set struct {
	Dir   string `json:"dir"`
	Files []File `json:"files"`
}

// Read reads the overlay set in dir: the regular files at its top level
// whose names do not start with '.'. A mounted ConfigMap holds each key as
// a symbolic link to ..data/<key>, and ..data and a timestamped directory
// beside it: those hold the same files again and are skipped. Files must
// be ytt templates (.yml, .yaml) or Starlark (.star); a set without files
// is empty, and changes nothing.
func Read(dir string) (*Set, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	s := &Set{Dir: dir}
	total := 0
	for _, e := range entries { // os.ReadDir sorts by name
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p) // follows the ConfigMap's links
		if err != nil {
			return nil, err
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		switch filepath.Ext(name) {
		case ".yml", ".yaml", ".star":
		default:
			return nil, fmt.Errorf("%s: not an overlay file: ytt overlays end in .yml or .yaml, libraries in .star", name)
		}
		if total += int(fi.Size()); total > MaxBytes {
			return nil, fmt.Errorf("the overlay files exceed %d bytes, more than a ConfigMap holds", MaxBytes)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		s.Files = append(s.Files, File{Name: name, Data: data})
	}
	return s, nil
}

// Empty reports whether the set has no files: then there is nothing to run.
func (s *Set) Empty() bool { return s == nil || len(s.Files) == 0 }

// Names names the set's files, in the order ytt applies them.
func (s *Set) Names() []string {
	names := make([]string, len(s.Files))
	for i, f := range s.Files {
		names[i] = f.Name
	}
	return names
}

// Values are the data values of an overlay pass (data.values in ytt),
// documented in docs/conventions.md.
type Values struct {
	// Promise is KRATIX_PROMISE_NAME.
	Promise  string `json:"promise"`
	Workflow string `json:"workflow"`
	Request  struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Namespace  string `json:"namespace"`
		Name       string `json:"name"`
	} `json:"request"`
	// Destination is the output directory of the documents: the
	// destination's name (package placement), or "" for Kratix's default
	// group, scheduled as the Promise says.
	Destination string `json:"destination"`
}

// Runner passes one destination's documents (JSON objects) through set with
// values v, and enforces the rules no overlay may break, within ctx. A
// refusal, by ytt or by a rule, is a *kratix.FieldError of Field naming
// the overlay file and line; any other error is the runner's own.
type Runner func(ctx context.Context, set *Set, v Values, docs []json.RawMessage) ([]json.RawMessage, error)
