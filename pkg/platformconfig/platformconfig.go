// Package platformconfig reads a promise's platform configuration: the
// settings the platform team decides (gateway class, NATS accounts, AWS
// mode, ...), never the requesting team.
//
// The configuration is one YAML file, mounted into the pipeline from an
// optional ConfigMap, and it holds every setting of a binary, timeouts
// included. A missing file at the default path means the embedded
// defaults, which each promise keeps safe; a file that is present is
// decoded strictly over those defaults, so a misspelt setting fails the
// run instead of being ignored. Package stage calls Load for every stage.
package platformconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/pkg/kratix"
)

const (
	// DefaultPath is where a Promise mounts the file by default, from an
	// optional ConfigMap.
	DefaultPath = "/etc/promisekit/config.yaml"
	// MaxBytes bounds the file: a ConfigMap holds at most 1 MiB.
	MaxBytes = 1 << 20
)

// Load decodes the configuration file at path over into, which holds the
// defaults, and returns the path it read for messages. An empty path means
// DefaultPath, and there a missing file leaves into as it was: the Promise
// mounts the file optionally. A path named explicitly must exist: a typo
// in it must not silently give the defaults. Errors name the file and the
// field (config.<path>).
func Load(path string, into any) (string, error) {
	explicit := path != ""
	if !explicit {
		path = DefaultPath
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return path, nil
	}
	if err != nil {
		return path, fmt.Errorf("reading platform configuration: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxBytes+1))
	if err != nil {
		return path, fmt.Errorf("reading platform configuration %s: %w", path, err)
	}
	if len(data) > MaxBytes {
		return path, fmt.Errorf("platform configuration %s: larger than %d bytes", path, MaxBytes)
	}
	if err := Decode(data, into); err != nil {
		return path, fmt.Errorf("platform configuration %s: %w", path, err)
	}
	return path, nil
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

// Duration is a setting that holds a positive Go duration ("30s", "2m"),
// or "" for the stage's default.
type Duration string

// Check says what is wrong with the value, for the caller to report under
// the setting's name.
func (d Duration) Check() error {
	_, err := d.parse()
	return err
}

// Or returns the duration, or def if the setting is empty. A value that
// Check refuses also gives def: validate the configuration first.
func (d Duration) Or(def time.Duration) time.Duration {
	v, err := d.parse()
	if err != nil || v == 0 {
		return def
	}
	return v
}

func (d Duration) parse() (time.Duration, error) {
	if d == "" {
		return 0, nil
	}
	v, err := time.ParseDuration(string(d))
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration such as 30s", string(d))
	}
	return v, nil
}
