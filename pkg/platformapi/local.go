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
	for _, part := range []string{r.Group, r.Plural, namespace, name} {
		if part == "" || strings.ContainsAny(part, `/\`) || part == "." || part == ".." {
			return "", fmt.Errorf("invalid object path element %q", part)
		}
	}
	return filepath.Join(dir, r.Group, r.Plural, namespace, name+".yaml"), nil
}

func (c *Client) listLocal(r Resource, namespace string) ([]*kratix.Object, error) {
	pattern := filepath.Join(c.localDir, r.Group, r.Plural, "*", "*.yaml")
	if namespace != "" {
		pattern = filepath.Join(c.localDir, r.Group, r.Plural, namespace, "*.yaml")
	}
	files, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", r.Plural, err)
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
