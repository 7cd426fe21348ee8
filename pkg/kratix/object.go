package kratix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	goyaml "go.yaml.in/yaml/v2"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/pkg/k8sname"
)

// MaxInputBytes bounds the input object, and with it what decoding it can
// cost. It is well above what an API server stores for any of our
// requests, and low enough that the costliest input the YAML decoder can
// be given stays inside a pipeline container's default 256 MiB (the tests
// of ParseObject hold it there). docs/decisions.md has the figures. A
// promise whose requests could come near it must raise the bound, and
// measure what the densest input then costs.
const MaxInputBytes = 512 << 10

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

// ReadObject reads and parses the input object at path; see ParseObject.
// It reads at most MaxInputBytes and one byte more.
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
	return ParseObject(data)
}

// ParseObject parses an object from YAML or JSON. Duplicate keys are an
// error; unknown metadata fields (managedFields, finalizers, …) are not,
// because the API server adds them.
//
// It refuses, before decoding anything, input that no API server could
// have handed Kratix and that would cost the decoder far more than its
// size: more than MaxInputBytes, YAML anchors and aliases, and more than
// one document (see checkDocument). What it accepts it holds to what the
// API server guarantees of every object: a name that is a DNS subdomain, a
// namespace that is a DNS label, and no top-level field but apiVersion,
// kind, metadata, spec and status (a stage would silently ignore any
// other). Nesting deeper than 10,000 levels is refused by the decoders
// themselves (go.yaml.in/yaml/v2, then encoding/json's scanner).
func ParseObject(data []byte) (*Object, error) {
	if len(data) > MaxInputBytes {
		return nil, fmt.Errorf("input object: larger than %d bytes (kratix.MaxInputBytes)", MaxInputBytes)
	}
	if err := checkDocument(data); err != nil {
		return nil, fmt.Errorf("input object: %w", err)
	}
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, fmt.Errorf("input object: %w", err)
	}
	js = bytes.TrimSpace(js)
	switch {
	case bytes.Equal(js, []byte("null")):
		return nil, errors.New("input object: empty document")
	case len(js) > 0 && js[0] != '{':
		return nil, fmt.Errorf("input object: the document is %s, not an object", jsonKind(js[0]))
	}
	// Unknown fields below metadata are the API server's (managedFields,
	// finalizers, …); any other unknown field is at the top, where the
	// API server would have pruned it.
	var o Object
	strictErrs, err := sigsjson.UnmarshalStrict(js, &o, sigsjson.DisallowUnknownFields)
	if err != nil {
		return nil, fmt.Errorf("input object: %w", err)
	}
	for _, e := range strictErrs {
		if fe := strictFieldError("", e.Error()); !strings.HasPrefix(fe.Field, "metadata.") {
			return nil, fe
		}
	}
	if o.Kind == "" || o.APIVersion == "" {
		return nil, errors.New("input object: apiVersion and kind are required")
	}
	switch m := o.Metadata; {
	case m.Name == "":
		return nil, errors.New("input object: metadata.name is required")
	case !k8sname.IsDNSSubdomain(m.Name):
		return nil, &FieldError{Field: "metadata.name", Detail: "must be a DNS subdomain (at most 253 lower-case letters, digits, '-' and '.'), as the API server requires"}
	case m.Namespace != "" && !k8sname.IsDNSLabel(m.Namespace):
		return nil, &FieldError{Field: "metadata.namespace", Detail: "must be a DNS label (at most 63 lower-case letters, digits and '-'), as the API server requires"}
	}
	return &o, nil
}

// CheckKind refuses an object whose apiVersion is not apiVersion or whose
// kind is none of kinds. A stage checks before it does anything: a Promise
// that points its image at another API is a mistake, and nothing may be
// made, written or deleted for that object.
func (o *Object) CheckKind(apiVersion string, kinds ...string) error {
	if o.APIVersion != apiVersion {
		return fmt.Errorf("input object: apiVersion %q is not %s", o.APIVersion, apiVersion)
	}
	if slices.Contains(kinds, o.Kind) {
		return nil
	}
	switch len(kinds) {
	case 1:
		return fmt.Errorf("input object: kind %q is not %s", o.Kind, kinds[0])
	case 2:
		return fmt.Errorf("input object: kind %q is neither %s nor %s", o.Kind, kinds[0], kinds[1])
	}
	return fmt.Errorf("input object: kind %q is not one of %s", o.Kind, strings.Join(kinds, ", "))
}

func jsonKind(first byte) string {
	switch first {
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}

// checkDocument refuses, before anything is decoded, what Kratix never
// writes and the YAML decoder would pay dearly for. Kratix renders
// object.yaml from the object's JSON with sigs.k8s.io/yaml, so it holds
// one document and no anchors or aliases:
//
//   - Anchors and aliases. go.yaml.in/yaml/v2 decodes every alias into a
//     fresh copy of its anchor. Its alias-ratio check refuses a
//     billion-laughs document, but lets a few hundred thousand copied
//     nodes through in a small document and over a million in a larger
//     one: 371 KB of one-key maps, anchored once and aliased five times,
//     decodes to 285 MiB. Aliases need anchors, so refusing anchors is
//     enough.
//   - More than one document: sigs.k8s.io/yaml decodes the first and
//     drops the rest without a word. Empty documents do not count.
//
// Input with no '&' and no "---" or "...", which is every object Kratix
// writes in practice, costs nothing more. Other input is scanned once more
// without being decoded (twice if it holds an anchor or a syntax error).
func checkDocument(data []byte) error {
	anchors := bytes.IndexByte(data, '&') >= 0
	// A document marker is "---" or "..." at the start of a line.
	if !anchors && !bytes.Contains(data, []byte("---")) && !bytes.Contains(data, []byte("...")) {
		return nil
	}
	probe := data
	if anchors {
		// An anchor is a '&' that starts a token. Anywhere else (in a
		// scalar, a comment, a tag) the scanner treats '&' and '@' alike,
		// and no token may start with '@', a reserved indicator. So with
		// every '&' made '@', the document scans exactly when it has no
		// anchor.
		probe = bytes.ReplaceAll(data, []byte("&"), []byte("@"))
	}
	docs, err := countDocuments(probe)
	if err != nil && anchors {
		if _, err := countDocuments(data); err != nil {
			return err
		}
		return errors.New("YAML anchors and aliases are not allowed (Kratix never writes them)")
	}
	if err != nil {
		return err
	}
	if docs > 1 {
		return fmt.Errorf("%d YAML documents, want one object", docs)
	}
	return nil
}

// countDocuments counts the documents in data that hold something,
// scanning each without decoding it: no alias is expanded.
func countDocuments(data []byte) (int, error) {
	dec := goyaml.NewDecoder(bytes.NewReader(data))
	n := 0
	for {
		var p presence
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			return n, nil
		} else if err != nil {
			return n, err
		}
		if p {
			n++
		}
	}
}

// presence is true once the YAML decoder found a non-null value for it. As
// a yaml.Unmarshaler that never calls back, it stops the decoder from
// descending into the value.
type presence bool

func (p *presence) UnmarshalYAML(func(any) error) error {
	*p = true
	return nil
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
