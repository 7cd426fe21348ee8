package ociimage

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// Walk calls fn for every entry of the image's flattened filesystem, with
// a regular file's contents. Only directories and regular files are
// allowed: anything else (a link, a device) is an error, since no image
// this package builds has one.
func Walk(img v1.Image, fn func(Entry, []byte) error) error {
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading image filesystem: %w", err)
		}
		p := "/" + strings.TrimSuffix(path.Clean("/" + h.Name)[1:], "/")
		e := Entry{Path: p, Mode: h.Mode & 0o7777, UID: h.Uid, GID: h.Gid, Size: h.Size}
		var data []byte
		switch h.Typeflag {
		case tar.TypeDir:
			e.Dir = true
		case tar.TypeReg:
			if data, err = io.ReadAll(tr); err != nil {
				return fmt.Errorf("reading %s: %w", p, err)
			}
		default:
			return fmt.Errorf("%s: entry type %q is neither a directory nor a regular file", p, h.Typeflag)
		}
		if err := fn(e, data); err != nil {
			return err
		}
	}
}
