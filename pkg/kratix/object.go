package kratix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// MaxInputBytes bounds the input object. Kubernetes stores an object in one
// etcd entry of at most 1.5 MiB; anything larger is not a real object.
const MaxInputBytes = 3 << 20

// Object is the input object Kratix writes to /kratix/input/object.yaml: the
// resource request (or the Promise, in promise workflows) as the API server
// returned it, status included.
type Object struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   ObjectMeta `json:"metadata"`
	// Spec is kept raw so that each stage decodes it strictly into its own type.
	Spec json.RawMessage `json:"spec,omitempty"`
	// Status holds each top-level status key raw; see package state.
	Status map[string]json.RawMessage `json:"status,omitempty"`
}

// ObjectMeta is the part of the object's metadata that stages use.
type ObjectMeta struct {
	Name              string            `json:"name"`
	Namespace         string            `json:"namespace,omitempty"`
	UID               string            `json:"uid,omitempty"`
	Generation        int64             `json:"generation,omitempty"`
	CreationTimestamp string            `json:"creationTimestamp,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
}

// ReadObject reads and parses the input object at path.
func ReadObject(path string) (*Object, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading input object: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxInputBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading input object %s: %w", path, err)
	}
	if len(data) > MaxInputBytes {
		return nil, fmt.Errorf("input object %s: larger than %d bytes", path, MaxInputBytes)
	}
	return ParseObject(data)
}

// ParseObject parses an object from YAML or JSON. Duplicate keys are an
// error; unknown metadata fields (managedFields, finalizers, …) are not,
// because the API server adds them.
func ParseObject(data []byte) (*Object, error) {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, fmt.Errorf("input object: %w", err)
	}
	if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
		return nil, errors.New("input object: empty document")
	}
	var o Object
	if err := json.Unmarshal(js, &o); err != nil {
		return nil, fmt.Errorf("input object: %w", err)
	}
	if o.Kind == "" || o.APIVersion == "" {
		return nil, errors.New("input object: apiVersion and kind are required")
	}
	if o.Metadata.Name == "" {
		return nil, errors.New("input object: metadata.name is required")
	}
	return &o, nil
}

// DecodeSpec decodes the object's spec into v strictly: an unknown field, a
// duplicate field or a value of the wrong type is an error that names the
// field, as in "spec.routes[1].prefx: unknown field".
func (o *Object) DecodeSpec(v any) error {
	spec := o.Spec
	if len(spec) == 0 || bytes.Equal(spec, []byte("null")) {
		spec = []byte("{}")
	}
	return DecodeStrict(spec, v, "spec")
}

// DecodeStrict decodes JSON into v, rejecting unknown and duplicate fields.
// Errors name the offending field below root.
func DecodeStrict(data []byte, v any, root string) error {
	strictErrs, err := sigsjson.UnmarshalStrict(data, v, sigsjson.DisallowUnknownFields, sigsjson.DisallowDuplicateFields)
	if err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return &FieldError{Field: joinField(root, typeErr.Field), Detail: fmt.Sprintf("must be %s, not %s", typeName(typeErr), typeErr.Value)}
		}
		return fmt.Errorf("%s: %w", root, err)
	}
	if len(strictErrs) == 0 {
		return nil
	}
	errs := make(FieldErrors, 0, len(strictErrs))
	for _, e := range strictErrs {
		errs = append(errs, strictFieldError(root, e.Error()))
	}
	return errs
}

// strictFieldError turns sigs.k8s.io/json's `unknown field "a.b[0].c"` into a
// FieldError on root.a.b[0].c.
func strictFieldError(root, msg string) *FieldError {
	for _, prefix := range []string{"unknown field ", "duplicate field "} {
		if rest, ok := strings.CutPrefix(msg, prefix); ok {
			return &FieldError{Field: joinField(root, strings.Trim(rest, `"`)), Detail: strings.TrimSpace(prefix)}
		}
	}
	return &FieldError{Field: root, Detail: msg}
}

func joinField(root, field string) string {
	switch {
	case field == "":
		return root
	case root == "":
		return field
	case strings.HasPrefix(field, "["):
		return root + field
	}
	return root + "." + field
}

func typeName(e *json.UnmarshalTypeError) string {
	switch k := e.Type.Kind().String(); {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"):
		return "an integer"
	case strings.HasPrefix(k, "float"):
		return "a number"
	case k == "string":
		return "a string"
	case k == "bool":
		return "a boolean"
	case k == "slice" || k == "array":
		return "a list"
	case k == "map" || k == "struct":
		return "an object"
	default:
		return k
	}
}
