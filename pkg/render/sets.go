package render

import (
	"errors"
	"fmt"
	"io/fs"
)

// LoadSets reads every file below each of dirs in fsys into one template
// set, so that one render combines, say, a stage's templates and those of
// the gateway implementation it was configured with: overlays in one set
// apply to the documents of the others, and ytt compiles once. Paths stay
// relative to fsys's root, so error positions name the file as the
// repository does. A dir that does not exist is skipped: an
// implementation may have nothing to add to a stage.
func LoadSets(fsys fs.FS, dirs ...string) (*Templates, error) {
	var t Templates
	for _, dir := range dirs {
		if _, err := fs.Stat(fsys, dir); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := t.add(fsys, dir, ""); err != nil {
			return nil, err
		}
	}
	if len(t.sources) == 0 {
		return nil, fmt.Errorf("loading templates %v: no files", dirs)
	}
	return &t, nil
}
