package kratix

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// maxWorkBytes bounds the compressed output: Kratix stores a pipeline's
// whole output in one Work object, and etcd refuses objects near 1.5 MiB
// (syntasso/kratix#226). Failing here names the cause; failing there does not.
const maxWorkBytes = 1 << 20

// stagingPrefix names the directory new output is written to before it is
// moved into place. A crash can leave one behind; the next attempt removes it.
const stagingPrefix = ".promisekit-staging-"

// Write writes a stage's result: the output documents (configure workflows
// only; Kratix ignores output on delete), status.yaml and
// destination-selectors.yaml. stage names the record of files this stage
// wrote, so that a retry in the same Pod removes exactly those.
//
// A pipeline may run other containers before this one: status.yaml and
// destination-selectors.yaml are composed with what they wrote (see
// composeMetadata), never replaced. With res.Control set, nothing is
// written to the output directory: Kratix writes no Work then.
func Write(p Paths, env Env, stage string, res *Result) error {
	status, err := statusOf(res)
	if err != nil {
		return err
	}
	var selectors []DestinationSelector
	if env.WorkflowAction == ActionConfigure && res.Control == nil {
		files, err := encodeDocuments(res.Documents, res.DestinationSelectors)
		if err != nil {
			return err
		}
		if err := replaceOutput(p, stage, files); err != nil {
			return err
		}
		selectors = res.DestinationSelectors
	}
	return composeMetadata(p.MetadataDir, stage, status, selectors, res.Control)
}

// statusOf is the status this run writes, the result's keys and message,
// encoded as JSON: a value that does not encode fails the run before
// anything is written.
func statusOf(res *Result) ([]byte, error) {
	if strings.TrimSpace(res.Message) == "" {
		return nil, errors.New("stage result has no status message")
	}
	status := make(map[string]any, len(res.Status)+1)
	for k, v := range res.Status {
		switch k {
		case "message":
			return nil, errors.New("status key \"message\" is set through Result.Message")
		case "kratix":
			// Kratix fails the pipeline on it (PR #721): the key is its own.
			return nil, errors.New("status key \"kratix\" is reserved for Kratix")
		case "":
			return nil, errors.New("empty status key")
		}
		status[k] = v
	}
	status["message"] = res.Message
	js, err := json.Marshal(status)
	if err != nil {
		return nil, fmt.Errorf("encoding status: %w", err)
	}
	return js, nil
}

// docHeader is what a file name is made of.
type docHeader struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// encodeDocuments turns documents into files keyed by their path below the
// output directory.
func encodeDocuments(docs []Document, sels []DestinationSelector) (map[string][]byte, error) {
	if err := validateSelectors(sels); err != nil {
		return nil, err
	}
	files := make(map[string][]byte, len(docs))
	total := 0
	for i, d := range docs {
		js, err := json.Marshal(d.Object)
		if err != nil {
			return nil, fmt.Errorf("encoding document %d: %w", i, err)
		}
		var h docHeader
		if err := json.Unmarshal(js, &h); err != nil {
			return nil, fmt.Errorf("document %d is not an object: %w", i, err)
		}
		if h.APIVersion == "" || h.Kind == "" || h.Metadata.Name == "" {
			return nil, fmt.Errorf("document %d: apiVersion, kind and metadata.name are required", i)
		}
		if h.APIVersion == "v1" && h.Kind == "Secret" {
			// The state store is a git repository read by many; seal instead.
			return nil, fmt.Errorf("document %d: refusing to write Secret %q in plain text to the state store", i, h.Metadata.Name)
		}
		dir, err := documentDir(d.Directory, sels)
		if err != nil {
			return nil, fmt.Errorf("document %s %q: %w", h.Kind, h.Metadata.Name, err)
		}
		name := outputPath(dir, fileName(h.Kind, h.Metadata.Namespace, h.Metadata.Name))
		if _, dup := files[name]; dup {
			return nil, fmt.Errorf("two documents would be written to %s (%s %s/%s)", name, h.Kind, h.Metadata.Namespace, h.Metadata.Name)
		}
		out, err := jsonToYAML(js)
		if err != nil {
			return nil, fmt.Errorf("encoding document %s %q: %w", h.Kind, h.Metadata.Name, err)
		}
		files[name] = out
		total += len(out)
	}
	if total > maxWorkBytes {
		if n := gzipSize(files); n > maxWorkBytes {
			return nil, fmt.Errorf("output is %d bytes compressed; Kratix stores it in one object of at most %d", n, maxWorkBytes)
		}
	}
	return files, nil
}

func outputPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func documentDir(dir string, sels []DestinationSelector) (string, error) {
	if dir == "" || dir == "." {
		return "", nil
	}
	for _, s := range sels {
		if filepath.Clean(s.Directory) == dir {
			return dir, nil
		}
	}
	return "", fmt.Errorf("directory %q has no destination selector", dir)
}

// fileName derives a file name from an object's identity. Every part is
// reduced to lower-case letters, digits, '-' and '.', so no name can climb
// out of the output directory or clash by case; over-long names are cut and
// keep a hash of the whole so that they stay distinct.
func fileName(kind, namespace, name string) string {
	parts := []string{sanitize(kind)}
	if namespace != "" {
		parts = append(parts, sanitize(namespace))
	}
	parts = append(parts, sanitize(name))
	base := strings.Join(parts, "_")
	const maxBase = 200 // file names are at most 255 bytes on common file systems
	if len(base) > maxBase {
		sum := sha256.Sum256([]byte(kind + "/" + namespace + "/" + name))
		base = base[:maxBase-13] + "-" + hex.EncodeToString(sum[:6])
	}
	return base + ".yaml"
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		case r == '.' && b.Len() > 0:
			b.WriteRune(r)
		default:
			b.WriteRune('-')
		}
	}
	if b.Len() == 0 {
		return "-"
	}
	return b.String()
}

func gzipSize(files map[string][]byte) int {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for _, name := range sortedKeys(files) {
		zw.Write(files[name])
	}
	zw.Close()
	return buf.Len()
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// replaceOutput swaps this stage's files in the output directory for files.
// New files are written to a staging directory first, so a failure while
// writing leaves the earlier output as it was.
func replaceOutput(p Paths, stage string, files map[string][]byte) error {
	if err := os.MkdirAll(p.OutputDir, 0o755); err != nil {
		return fmt.Errorf("creating output directory: %w", err)
	}
	if err := removeStaging(p.OutputDir); err != nil {
		return err
	}
	staging, err := os.MkdirTemp(p.OutputDir, stagingPrefix)
	if err != nil {
		return fmt.Errorf("creating staging directory: %w", err)
	}
	defer os.RemoveAll(staging)
	names := sortedKeys(files)
	for _, name := range names {
		dst := filepath.Join(staging, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("writing output: %w", err)
		}
		if err := os.WriteFile(dst, files[name], 0o644); err != nil {
			return fmt.Errorf("writing output %s: %w", name, err)
		}
	}

	recordFile := filepath.Join(p.MetadataDir, ".promisekit", stage+".outputs")
	previous, err := readRecord(recordFile)
	if err != nil {
		return err
	}
	// Record old and new together before touching the output, so that a
	// crash during the swap still lets the next attempt find every file.
	both := union(previous, names)
	if err := writeRecord(recordFile, both); err != nil {
		return err
	}
	for _, name := range previous {
		if _, keep := files[name]; keep {
			continue
		}
		if !filepath.IsLocal(name) {
			continue // a tampered record must not remove files elsewhere
		}
		target := filepath.Join(p.OutputDir, filepath.FromSlash(name))
		if err := os.Remove(target); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing stale output %s: %w", name, err)
		}
		if dir := filepath.Dir(target); dir != filepath.Clean(p.OutputDir) {
			os.Remove(dir) // only succeeds when empty, which is what we want
		}
	}
	for _, name := range names {
		dst := filepath.Join(p.OutputDir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("writing output: %w", err)
		}
		if err := os.Rename(filepath.Join(staging, filepath.FromSlash(name)), dst); err != nil {
			return fmt.Errorf("moving output %s into place: %w", name, err)
		}
	}
	if slices.Equal(both, names) {
		return nil // the record already says exactly this (a first run, or the same files)
	}
	return writeRecord(recordFile, names)
}

func removeStaging(outputDir string) error {
	entries, err := os.ReadDir(outputDir)
	if err != nil {
		return fmt.Errorf("reading output directory: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), stagingPrefix) {
			if err := os.RemoveAll(filepath.Join(outputDir, e.Name())); err != nil {
				return fmt.Errorf("removing an earlier attempt's staging directory: %w", err)
			}
		}
	}
	return nil
}

func readRecord(file string) ([]string, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading record of earlier output: %w", err)
	}
	var names []string
	if err := json.Unmarshal(data, &names); err != nil {
		return nil, fmt.Errorf("reading record of earlier output %s: %w", file, err)
	}
	return names, nil
}

func writeRecord(file string, names []string) error {
	if names == nil {
		names = []string{}
	}
	data, err := json.Marshal(names)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return fmt.Errorf("writing record of output: %w", err)
	}
	return writeFileAtomic(file, data)
}

func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

// writeMetadata writes one of Kratix's metadata files, or removes it when
// data is nil so that an earlier attempt's file does not outlive it.
func writeMetadata(dir, name string, data []byte) error {
	file := filepath.Join(dir, name)
	if data == nil {
		if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing stale %s: %w", name, err)
		}
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating metadata directory: %w", err)
	}
	return writeFileAtomic(file, data)
}

// writeFileAtomic writes through a temporary file in the same directory, so
// a reader sees the old or the new content, never a part.
func writeFileAtomic(file string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".tmp-")
	if err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", file, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	return nil
}
