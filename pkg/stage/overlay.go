package stage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/overlays"
)

// DefaultOverlaysDir is where the Promise mounts the platform's overlay
// ConfigMap (promisekit-overlays, optional). It is beside /etc/promisekit,
// not in it: some Promises mount their configuration ConfigMap read-only
// at /etc/promisekit, and the runtime cannot create a mount point inside a
// read-only volume.
const DefaultOverlaysDir = "/etc/promisekit-overlays"

// PlatformOverlays is the platform's ytt overlays over every document a
// stage writes. Every promise's Config embeds it, without a JSON name, so
// that the configuration file says `overlays: <dir>`.
type PlatformOverlays struct {
	// Overlays is the directory of overlay files (a mounted ConfigMap).
	// Empty means DefaultOverlaysDir, which may be absent or empty; a
	// directory named here must exist.
	Overlays string `json:"overlays,omitempty"`
}

func (p PlatformOverlays) overlaysDir() string { return p.Overlays }

// overlaysConfig is a promise's Config that embeds PlatformOverlays.
type overlaysConfig interface{ overlaysDir() string }

// loadOverlays reads the overlay set cfg names (step 3): nil when cfg has
// no overlays setting or the set is empty, so that a platform without
// overlays never runs ytt for them.
func loadOverlays(cfg any) (*overlays.Set, error) {
	c, ok := cfg.(overlaysConfig)
	if !ok {
		return nil, nil
	}
	dir, explicit := c.overlaysDir(), true
	if dir == "" {
		dir, explicit = DefaultOverlaysDir, false
	}
	set, err := overlays.Read(dir)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return nil, nil
	}
	if err != nil {
		return nil, &kratix.FieldError{Field: overlays.Field, Detail: err.Error()}
	}
	if set.Empty() {
		return nil, nil
	}
	return set, nil
}

// applyOverlays passes the documents of a configure run through the
// platform's overlays with run, one pass per output directory (one for
// most runs); run enforces the rules no overlay may break. A run with no
// overlays, no documents or a workflow control is left as it is.
func applyOverlays(ctx context.Context, run overlays.Runner, set *overlays.Set, req *kratix.Request, res *kratix.Result) error {
	if set.Empty() || res.Control != nil || len(res.Documents) == 0 {
		return nil
	}
	if run == nil {
		return errors.New("the platform has overlays, and this stage has no way to run them (Stage.Overlays)")
	}
	var dirs []string
	groups := map[string][]json.RawMessage{}
	for i, d := range res.Documents {
		js, err := json.Marshal(d.Object)
		if err != nil {
			return fmt.Errorf("encoding document %d for the overlays: %w", i, err)
		}
		if _, seen := groups[d.Directory]; !seen {
			dirs = append(dirs, d.Directory)
		}
		groups[d.Directory] = append(groups[d.Directory], js)
	}
	var v overlays.Values
	v.Promise, v.Workflow = req.Env.PromiseName, req.Env.WorkflowAction
	obj := req.Object
	v.Request.APIVersion, v.Request.Kind = obj.APIVersion, obj.Kind
	v.Request.Namespace, v.Request.Name = obj.Metadata.Namespace, obj.Metadata.Name
	docs := make([]kratix.Document, 0, len(res.Documents))
	for _, dir := range dirs {
		v.Destination = dir
		out, err := run(ctx, set, v, groups[dir])
		if err != nil {
			return err
		}
		for _, d := range out {
			docs = append(docs, kratix.Document{Directory: dir, Object: d})
		}
	}
	res.Documents = docs
	return nil
}
