// Package platformconfig reads a promise's platform configuration: the
// settings the platform team decides (gateway class, NATS accounts, AWS
// mode, ...), never the requesting team.
//
// The configuration is one YAML file, mounted into the pipeline from an
// optional ConfigMap. A missing file means the embedded defaults, which each
// promise keeps safe; a file that is present is decoded strictly over those
// defaults, so a misspelt setting fails the run instead of being ignored.
package platformconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/pkg/kratix"
)

const (
	// Variable names the configuration file, overriding DefaultPath.
	Variable = "PROMISEKIT_CONFIG"
	// DefaultPath is where a Promise mounts the file by default.
	DefaultPath = "/etc/promisekit/config.yaml"
	// MaxBytes bounds the file: a ConfigMap holds at most 1 MiB.
	MaxBytes = 1 << 20
)

// Load decodes the configuration file named by PROMISEKIT_CONFIG (or
// DefaultPath) over into, which holds the defaults. It returns the file's
// path for messages and whether the file was there; without it, into is
// left as it was. Errors name the file and the field (config.<path>).
func Load(getenv func(string) string, into any) (path string, found bool, err error) {
	path = getenv(Variable)
	if path == "" {
		path = DefaultPath
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return path, false, nil
	}
	if err != nil {
		return path, false, fmt.Errorf("reading platform configuration: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxBytes+1))
	if err != nil {
		return path, false, fmt.Errorf("reading platform configuration %s: %w", path, err)
	}
	if len(data) > MaxBytes {
		return path, false, fmt.Errorf("platform configuration %s: larger than %d bytes", path, MaxBytes)
	}
	if err := Decode(data, into); err != nil {
		return path, false, fmt.Errorf("platform configuration %s: %w", path, err)
	}
	return path, true, nil
}

// Decode decodes YAML strictly over into. An empty document keeps into as
// it was.
func Decode(data []byte, into any) error {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return err
	}
	if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
		return nil
	}
	return kratix.DecodeStrict(js, into, "config")
}
