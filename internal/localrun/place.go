package localrun

import (
	"cmp"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/kratixsim"
	"github.com/promisekit/promisekit/pkg/kratix"
)

// place writes one pipeline's output into the state store. Files are grouped
// by destination-selectors.yaml (a listed directory is its own group, the
// rest is the default group "."), each group is scheduled to the first
// destination, by name, whose labels match, and each group's directory is
// rewritten whole, as Kratix's writer does.
func (r *runner) place(obj map[string]any, pipelineName string, dirs kratix.Paths) ([]string, error) {
	namespace, name := namespaceName(obj)
	groups, err := r.groups(dirs)
	if err != nil {
		return nil, err
	}
	// A re-run replaces what this pipeline wrote before, wherever it went.
	old, err := filepath.Glob(filepath.Join(r.o.StateStore, "*", "resources", namespace, r.p.Metadata.Name, name, pipelineName))
	if err != nil {
		return nil, err
	}
	for _, d := range old {
		if err := os.RemoveAll(d); err != nil {
			return nil, err
		}
	}
	var written []string
	for _, g := range groups {
		if len(g.files) == 0 {
			continue
		}
		dest, ok := r.schedule(g.labels)
		if !ok {
			fmt.Fprintf(r.o.Log, "no destination matches %v: %d files of group %q left unscheduled, as Kratix would\n", g.labels, len(g.files), g.dir)
			continue
		}
		base := kratixsim.WorkDir(dest, namespace, r.p.Metadata.Name, name, pipelineName, g.dir)
		for _, rel := range slices.Sorted(maps.Keys(g.files)) {
			target := filepath.Join(r.o.StateStore, filepath.FromSlash(base), filepath.FromSlash(rel))
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return nil, err
			}
			if err := os.WriteFile(target, g.files[rel], 0o644); err != nil {
				return nil, err
			}
			written = append(written, base+"/"+rel)
		}
	}
	return written, nil
}

type group struct {
	dir    string
	labels map[string]string
	files  map[string][]byte
}

func (r *runner) groups(dirs kratix.Paths) ([]*group, error) {
	var sels []kratix.DestinationSelector
	data, err := os.ReadFile(filepath.Join(dirs.MetadataDir, "destination-selectors.yaml"))
	if err == nil {
		if err := yaml.UnmarshalStrict(data, &sels); err != nil {
			return nil, fmt.Errorf("destination-selectors.yaml: %w", err)
		}
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	// The default group is scheduled by the Promise's destinationSelectors
	// and any "." entry the pipeline wrote, together.
	def := &group{dir: ".", labels: map[string]string{}, files: map[string][]byte{}}
	for _, s := range r.p.Spec.DestinationSelectors {
		maps.Copy(def.labels, s.MatchLabels)
	}
	byDir := map[string]*group{}
	for _, s := range sels {
		dir := filepath.Clean(cmp.Or(s.Directory, "."))
		if dir == "." {
			maps.Copy(def.labels, s.MatchLabels)
			continue
		}
		byDir[dir] = &group{dir: dir, labels: s.MatchLabels, files: map[string][]byte{}}
	}
	err = filepath.WalkDir(dirs.OutputDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dirs.OutputDir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		// Kratix keeps the selector's directory in each file's path
		// (Workload.Filepath), under the group's own directory.
		top, _, nested := strings.Cut(rel, "/")
		if g, ok := byDir[top]; ok && nested {
			g.files[rel] = data
		} else {
			def.files[rel] = data
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := []*group{def}
	for _, d := range slices.Sorted(maps.Keys(byDir)) {
		out = append(out, byDir[d])
	}
	return out, nil
}

func (r *runner) schedule(labels map[string]string) (string, bool) {
	dests := slices.Clone(r.o.Destinations)
	slices.SortFunc(dests, func(a, b Destination) int { return strings.Compare(a.Name, b.Name) })
	for _, d := range dests {
		match := true
		for k, v := range labels {
			if d.Labels[k] != v {
				match = false
				break
			}
		}
		if match {
			return d.Name, true
		}
	}
	return "", false
}
