package platformapi

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/promisekit/promisekit/pkg/kratix"
)

// LocalPath is where the local object directory keeps one object:
// <dir>/<group>/<plural>/<namespace>/<name>.yaml. The local runner writes
// there; the client reads and deletes there.
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

func (c *Client) listLocal(r Resource, namespace string) ([]*kratix.Object, error) {
	if err := checkParts(r.Group, r.Plural); err != nil {
		return nil, fmt.Errorf("listing %s: %w", r.Plural, err)
	}
	// Read directories rather than glob: the store's own path may hold
	// characters that are glob syntax.
	base := filepath.Join(c.localDir, r.Group, r.Plural)
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

func (c *Client) deleteLocal(r Resource, namespace, name, uid string) error {
	file, err := LocalPath(c.localDir, r, namespace, name)
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
