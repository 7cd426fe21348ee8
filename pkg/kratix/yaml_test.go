package kratix

import (
	"testing"

	"sigs.k8s.io/yaml"
)

// TestJSONToYAMLMatchesSigsYAML: the fast conversion writes the very bytes
// sigs.k8s.io/yaml.JSONToYAML writes, so that no state store sees a change.
func TestJSONToYAMLMatchesSigsYAML(t *testing.T) {
	docs := []string{
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","labels":{"b":"1","a":"x"}},"data":{"k":"v"}}`,
		`{"n":10,"neg":-3,"zero":0,"negzero":-0,"big":18446744073709551615,"huge":1e400,"f":1.5,"e":1E5,"small":1.0e-7,"int64":9223372036854775807}`,
		`{"s":["true","no","yes","null","~","1","0x10","1e3","",":","- a","#c","a: b","multi\nline\n","trailing ","\u00e9\u4e2d","\t"]}`,
		`{"empty":{},"list":[],"null":null,"bools":[true,false],"nested":[[1,[2]],{"x":{"y":{}}}]}`,
		`{"10":"a","9":"b","a10":"c","a9":"d","B":"e","b":"f","-":"g"}`,
		`{"valuesObject":{"manifests":"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n---\nkind: ServiceAccount\n"}}`,
		`{"policy":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\"}]}","long":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}`,
	}
	for _, doc := range docs {
		want, err := yaml.JSONToYAML([]byte(doc))
		if err != nil {
			t.Fatalf("JSONToYAML(%s): %v", doc, err)
		}
		got, err := jsonToYAML([]byte(doc))
		if err != nil {
			t.Fatalf("jsonToYAML(%s): %v", doc, err)
		}
		if string(got) != string(want) {
			t.Errorf("%s:\n got:\n%s\nwant:\n%s", doc, got, want)
		}
	}
}
