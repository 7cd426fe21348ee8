package kratix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"sigs.k8s.io/yaml"
)

// Kratix's metadata files, below /kratix/metadata. Every container of a
// pipeline sees the same directory.
const (
	statusFile    = "status.yaml"
	selectorsFile = "destination-selectors.yaml"
	controlFile   = "workflow-control.yaml"
)

// metadataRecord is what this stage wrote to the metadata files in this
// Pod, so that a retry of the stage in the same Pod (Kratix restarts a
// failed container in place) first takes back exactly its own part, and
// leaves what other containers wrote.
type metadataRecord struct {
	StatusKeys   []string `json:"statusKeys"`
	SelectorDirs []string `json:"selectorDirs"`
	Control      bool     `json:"control"`
}

// composeMetadata writes this stage's part of status.yaml,
// destination-selectors.yaml and workflow-control.yaml, composed with what
// earlier containers of the pipeline wrote there: Kratix reads each file
// once, after the last container. statusJS is this stage's status as a
// JSON object; its keys replace the same keys of an earlier container, as
// Kratix's own merge would. A selector for a directory an earlier
// container also selects must not contradict it: their labels are joined.
func composeMetadata(dir, stage string, statusJS []byte, sels []DestinationSelector, control *Control) error {
	recordFile := filepath.Join(dir, ".promisekit", stage+".metadata")
	var prev metadataRecord
	if data, err := os.ReadFile(recordFile); err == nil {
		if err := json.Unmarshal(data, &prev); err != nil {
			return fmt.Errorf("reading record of earlier metadata %s: %w", recordFile, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("reading record of earlier metadata: %w", err)
	}

	ours, err := decodeJSONObject(statusJS)
	if err != nil {
		return fmt.Errorf("encoding status: %w", err)
	}
	status, err := readMetadataObject(dir, statusFile)
	if err != nil {
		return err
	}
	for _, k := range prev.StatusKeys {
		delete(status, k)
	}
	maps.Copy(status, ours)

	selectors, err := readSelectors(dir)
	if err != nil {
		return err
	}
	selectors = slices.DeleteFunc(selectors, func(s DestinationSelector) bool {
		return slices.Contains(prev.SelectorDirs, filepath.Clean(s.Directory))
	})
	if selectors, err = joinSelectors(selectors, sels); err != nil {
		return err
	}

	next := metadataRecord{StatusKeys: slices.Sorted(maps.Keys(ours)), Control: control != nil}
	var dirs []string
	for _, s := range sels {
		dirs = append(dirs, filepath.Clean(s.Directory))
	}
	next.SelectorDirs = union(nil, dirs)
	// Record the union first: a crash between the writes below must still
	// let the next attempt find everything this stage wrote.
	both := metadataRecord{
		StatusKeys:   union(prev.StatusKeys, next.StatusKeys),
		SelectorDirs: union(prev.SelectorDirs, next.SelectorDirs),
		Control:      prev.Control || next.Control,
	}
	if err := writeMetadataRecord(recordFile, both); err != nil {
		return err
	}

	var selectorsYAML []byte
	if len(selectors) > 0 {
		if selectorsYAML, err = yaml.Marshal(selectors); err != nil {
			return fmt.Errorf("encoding destination selectors: %w", err)
		}
	}
	if err := writeMetadata(dir, selectorsFile, selectorsYAML); err != nil {
		return err
	}
	statusYAML, err := encodeYAMLObject(status)
	if err != nil {
		return fmt.Errorf("encoding status: %w", err)
	}
	if err := writeMetadata(dir, statusFile, statusYAML); err != nil {
		return err
	}
	switch {
	case control != nil:
		controlYAML, err := yaml.Marshal(control)
		if err != nil {
			return fmt.Errorf("encoding workflow control: %w", err)
		}
		if err := writeMetadata(dir, controlFile, controlYAML); err != nil {
			return err
		}
	case prev.Control:
		// This stage's own earlier attempt stopped the workflow; this
		// one does not.
		if err := writeMetadata(dir, controlFile, nil); err != nil {
			return err
		}
	}
	if slices.Equal(both.StatusKeys, next.StatusKeys) && slices.Equal(both.SelectorDirs, next.SelectorDirs) && both.Control == next.Control {
		return nil // the record already says exactly this
	}
	return writeMetadataRecord(recordFile, next)
}

// readMetadataObject reads a metadata file that holds one object, or an
// empty one when the file is absent.
func readMetadataObject(dir, name string) (map[string]any, error) {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return map[string]any{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("reading %s an earlier container wrote: %w", name, err)
	}
	m, err := decodeJSONObject(js)
	if err != nil {
		return nil, fmt.Errorf("reading %s an earlier container wrote: %w", name, err)
	}
	return m, nil
}

func readSelectors(dir string) ([]DestinationSelector, error) {
	data, err := os.ReadFile(filepath.Join(dir, selectorsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", selectorsFile, err)
	}
	var sels []DestinationSelector
	if err := yaml.Unmarshal(data, &sels); err != nil {
		return nil, fmt.Errorf("reading %s an earlier container wrote: %w", selectorsFile, err)
	}
	return sels, nil
}

// joinSelectors adds ours to theirs. Selectors of the same directory are
// one: their labels are joined, and a label both set differently is an
// error (no destination could match both).
func joinSelectors(theirs, ours []DestinationSelector) ([]DestinationSelector, error) {
	out := slices.Clone(theirs)
	for _, s := range ours {
		i := slices.IndexFunc(out, func(t DestinationSelector) bool {
			return filepath.Clean(t.Directory) == filepath.Clean(s.Directory)
		})
		if i < 0 {
			out = append(out, s)
			continue
		}
		labels := maps.Clone(out[i].MatchLabels)
		for k, v := range s.MatchLabels {
			if have, ok := labels[k]; ok && have != v {
				return nil, fmt.Errorf("%s: directory %q: an earlier container selects %s=%s, this stage %s=%s", selectorsFile, s.Directory, k, have, k, v)
			}
			labels[k] = v
		}
		out[i].MatchLabels = labels
	}
	return out, validateSelectors(out)
}

func writeMetadataRecord(file string, r metadataRecord) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return fmt.Errorf("writing record of metadata: %w", err)
	}
	return writeFileAtomic(file, data)
}

// decodeJSONObject decodes a JSON object keeping numbers exact.
func decodeJSONObject(js []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

func encodeYAMLObject(m map[string]any) ([]byte, error) {
	js, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return jsonToYAML(js)
}
