package kratix

import (
	"bytes"
	"encoding/json"
	"strconv"

	goyaml "go.yaml.in/yaml/v2"
)

// jsonToYAML converts a JSON document to YAML exactly as sigs.k8s.io/yaml's
// JSONToYAML does (keys sorted, the same scalars), without reading the JSON
// with the YAML parser, which is slow on the long flow-style lines
// json.Marshal writes (docs/decisions.md).
func jsonToYAML(js []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return goyaml.Marshal(yamlNumbers(v))
}

// yamlNumbers replaces each json.Number by the value the YAML parser
// resolves the same plain scalar to: an int if it fits, else an unsigned
// int, else a float.
func yamlNumbers(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = yamlNumbers(e)
		}
	case []any:
		for i, e := range v {
			v[i] = yamlNumbers(e)
		}
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return i
		}
		if u, err := strconv.ParseUint(string(v), 10, 64); err == nil {
			return u
		}
		if f, err := strconv.ParseFloat(string(v), 64); err == nil {
			return f
		}
	}
	return v
}
