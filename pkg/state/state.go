// Package state keeps a stage's memory between runs in the object's status.
//
// Kratix gives a stage no storage of its own, but it merges status.yaml into
// the object's .status and hands the object back on the next run. A stage
// therefore owns one top-level status key and rewrites its full value every
// run (Kratix's merge is shallow: a key written replaces the old value whole).
// The value carries a schema version so that a later release can migrate
// what an earlier one stored, and refuses state from a newer release rather
// than misreading it.
package state

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/promisekit/promisekit/pkg/kratix"
)

// versionField is the key of the schema version inside the stored value.
const versionField = "schemaVersion"

// Migration upgrades a stored value from one schema version to the next, in place.
type Migration func(value map[string]any) error

// Codec stores a T under one top-level status key.
type Codec[T any] struct {
	// Key is the top-level status key, e.g. "natsUser".
	Key string
	// Version is the schema version this release writes (1 or more).
	Version int
	// Migrations[n] upgrades a value of version n to n+1.
	Migrations map[int]Migration
}

// Load returns the state stored by an earlier run. found is false when there
// is none (first run). A stored value that does not decode strictly into T
// is an error: the stage would otherwise act on state it misread.
func (c Codec[T]) Load(obj *kratix.Object) (value T, found bool, err error) {
	raw, ok := obj.Status[c.Key]
	if !ok || string(raw) == "null" {
		return value, false, nil
	}
	m, err := decodeObject(raw)
	if err != nil {
		return value, false, fmt.Errorf("status.%s: %w", c.Key, err)
	}
	version, err := storedVersion(m)
	if err != nil {
		return value, false, fmt.Errorf("status.%s: %w", c.Key, err)
	}
	if version > c.Version {
		return value, false, fmt.Errorf("status.%s: schema version %d was written by a newer release (this one reads up to %d)", c.Key, version, c.Version)
	}
	for v := version; v < c.Version; v++ {
		migrate, ok := c.Migrations[v]
		if !ok {
			return value, false, fmt.Errorf("status.%s: no migration from schema version %d", c.Key, v)
		}
		if err := migrate(m); err != nil {
			return value, false, fmt.Errorf("status.%s: migrating from schema version %d: %w", c.Key, v, err)
		}
	}
	delete(m, versionField)
	js, err := json.Marshal(m)
	if err != nil {
		return value, false, fmt.Errorf("status.%s: %w", c.Key, err)
	}
	if err := kratix.DecodeStrict(js, &value, "status."+c.Key); err != nil {
		return value, false, err
	}
	return value, true, nil
}

func storedVersion(m map[string]any) (int, error) {
	v, ok := m[versionField]
	if !ok {
		return 0, fmt.Errorf("%s is missing", versionField)
	}
	n, ok := v.(json.Number)
	i, err := n.Int64()
	if !ok || err != nil || i < 1 {
		return 0, fmt.Errorf("%s: %v is not a positive integer", versionField, v)
	}
	return int(i), nil
}

// decodeObject decodes a JSON object keeping numbers exact: int64 values
// such as Unix nanoseconds do not survive a float64.
func decodeObject(js []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// Store sets the key's full value in the result's status.
func (c Codec[T]) Store(res *kratix.Result, value T) error {
	js, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("encoding status.%s: %w", c.Key, err)
	}
	m, err := decodeObject(js)
	if err != nil || m == nil {
		return fmt.Errorf("status.%s must encode as an object: %v", c.Key, err)
	}
	if _, clash := m[versionField]; clash {
		return fmt.Errorf("status.%s: %s is reserved for the schema version", c.Key, versionField)
	}
	m[versionField] = c.Version
	res.SetStatus(c.Key, m)
	return nil
}
