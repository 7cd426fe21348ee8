package platformapi

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/promisekit/promisekit/pkg/kratix"
)

// Dir is the platform API as a directory of objects, one YAML file per
// object at LocalPath: what the local runner keeps in place of an API
// server. It reads and deletes there; whoever keeps the directory writes.
type Dir struct {
	root string
}

// NewDir returns the platform API kept in the directory root.
func NewDir(root string) *Dir {
	return &Dir{root: root}
}

// LocalPath is where a Dir rooted at dir keeps one object:
// <dir>/<group>/<plural>/<namespace>/<name>.yaml. The local runner writes
// there; Dir reads and deletes there.
func LocalPath(dir string, r Resource, namespace, name string) (string, error) {
	if err := checkParts(r.Group, r.Plural, namespace, name); err != nil {
		return "", err
	}
	return filepath.Join(dir, r.Group, r.Plural, namespace, name+".yaml"), nil
}

// checkParts refuses path elements that would leave their directory or, in
// List, act as glob patterns.
func checkParts(parts ...string) error {
	for _, part := range parts {
		if part == "" || strings.ContainsAny(part, `/\*?[`) || part == "." || part == ".." {
			return fmt.Errorf("invalid object path element %q", part)
		}
	}
	return nil
}

// List returns every object of r in namespace ("" for all namespaces), in
// the order of their files' paths. The version of r plays no part: the
// directory keeps one copy of each object.
func (d *Dir) List(_ context.Context, r Resource, namespace string) ([]*kratix.Object, error) {
	if err := checkParts(r.Group, r.Plural); err != nil {
		return nil, fmt.Errorf("listing %s: %w", r.Plural, err)
	}
	// Read directories rather than glob: the store's own path may hold
	// characters that are glob syntax.
	base := filepath.Join(d.root, r.Group, r.Plural)
	namespaces := []string{namespace}
	if namespace == "" {
		entries, err := os.ReadDir(base)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("listing %s: %w", r.Plural, err)
		}
		namespaces = namespaces[:0]
		for _, e := range entries {
			if e.IsDir() {
				namespaces = append(namespaces, e.Name())
			}
		}
	} else if err := checkParts(namespace); err != nil {
		return nil, fmt.Errorf("listing %s: %w", r.Plural, err)
	}
	var files []string
	for _, ns := range namespaces {
		entries, err := os.ReadDir(filepath.Join(base, ns))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("listing %s: %w", r.Plural, err)
		}
		for _, e := range entries {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".yaml") {
				files = append(files, filepath.Join(base, ns, e.Name()))
			}
		}
	}
	slices.Sort(files)
	objs := make([]*kratix.Object, 0, len(files))
	for _, f := range files {
		obj, err := kratix.ReadObject(f)
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", r.Plural, err)
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

// Delete removes the file of namespace/name of r if the object in it has
// the UID uid, so a newer object that reused the name is never touched. A
// missing file, or another UID, counts as deleted.
func (d *Dir) Delete(_ context.Context, r Resource, namespace, name, uid string) error {
	if uid == "" {
		return errNoUID(r, namespace, name)
	}
	file, err := LocalPath(d.root, r, namespace, name)
	if err != nil {
		return err
	}
	obj, err := kratix.ReadObject(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deleting %s %s/%s: %w", r.Plural, namespace, name, err)
	}
	if obj.Metadata.UID != uid {
		return nil // a newer object took the name
	}
	if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("deleting %s %s/%s: %w", r.Plural, namespace, name, err)
	}
	return nil
}
