package platformapi

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/promisekit/promisekit/pkg/kratix"
)

// Field is one term of a field selector: the objects whose field at Path
// (a dotted path such as "spec.aggregatorRef.name", or "metadata.name" or
// "metadata.namespace") holds the string Value.
type Field struct {
	Path, Value string
}

// Selecting is an API that can select objects by field as it lists them.
// Client and Dir are; Where falls back to selecting after a plain List for
// an API that is not.
type Selecting interface {
	ListWhere(ctx context.Context, r Resource, namespace string, fields ...Field) ([]*kratix.Object, error)
}

var (
	_ Selecting = (*Client)(nil)
)

// Where returns api with every List selecting the objects whose fields
// equal fields; Delete is api's. A caller still checks what it relies on:
// the selection only saves reading the objects it would skip.
func Where(api API, fields ...Field) API {
	return where{api: api, fields: fields}
}

type where struct {
	api    API
	fields []Field
}

func (w where) List(ctx context.Context, r Resource, namespace string) ([]*kratix.Object, error) {
	if s, ok := w.api.(Selecting); ok {
		return s.ListWhere(ctx, r, namespace, w.fields...)
	}
	objs, err := w.api.List(ctx, r, namespace)
	if err != nil {
		return nil, err
	}
	return selectFields(objs, w.fields), nil
}

func (w where) Delete(ctx context.Context, r Resource, namespace, name, uid string) error {
	return w.api.Delete(ctx, r, namespace, name, uid)
}

// fieldSelector is the API server's form of fields: "a=x,b=y". Values are
// names (the selectable fields' schemas restrict them), so no escaping is
// needed beyond the selector's own.
func fieldSelector(fields []Field) string {
	terms := make([]string, len(fields))
	for i, f := range fields {
		terms[i] = f.Path + "=" + escapeSelectorValue(f.Value)
	}
	return strings.Join(terms, ",")
}

// escapeSelectorValue escapes what k8s.io/apimachinery's fields package
// treats as syntax in a value.
func escapeSelectorValue(v string) string {
	return strings.NewReplacer(`\`, `\\`, ",", `\,`, "=", `\=`).Replace(v)
}

// selectFields keeps the objects whose fields all equal the values given,
// as the API server's field selector does: a missing field is "".
func selectFields(objs []*kratix.Object, fields []Field) []*kratix.Object {
	if len(fields) == 0 {
		return objs
	}
	var out []*kratix.Object
	for _, o := range objs {
		if matches(o, fields) {
			out = append(out, o)
		}
	}
	return out
}

func matches(o *kratix.Object, fields []Field) bool {
	for _, f := range fields {
		if fieldValue(o, f.Path) != f.Value {
			return false
		}
	}
	return true
}

// fieldValue reads a string at a dotted path of o; "" when absent or not
// a string.
func fieldValue(o *kratix.Object, path string) string {
	switch path {
	case "metadata.name":
		return o.Metadata.Name
	case "metadata.namespace":
		return o.Metadata.Namespace
	}
	rest, ok := strings.CutPrefix(path, "spec.")
	if !ok {
		return ""
	}
	var v any
	if json.Unmarshal(o.Spec, &v) != nil {
		return ""
	}
	for part := range strings.SplitSeq(rest, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[part]
	}
	s, _ := v.(string)
	return s
}
