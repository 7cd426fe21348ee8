package crdcheck

import (
	"slices"
	"strings"
	"sync"
	"testing"

	// The HTTPRoute CRD is read from this module's source; importing its
	// Go types keeps the module required by go.mod through a tidy.
	_ "sigs.k8s.io/gateway-api/apis/v1"
)

const httpRouteCRD = "config/crd/standard/gateway.networking.k8s.io_httproutes.yaml"

func loadHTTPRoute(tb testing.TB) *Validator {
	tb.Helper()
	crd, err := ModuleFile("sigs.k8s.io/gateway-api", httpRouteCRD)
	if err != nil {
		tb.Fatal(err)
	}
	v, err := Load(crd)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// route returns an HTTPRoute in namespace "team" with the given rules.
func route(rules string) string {
	return `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: shop
  namespace: team
spec:
  parentRefs:
    - name: public
      namespace: gateways
  hostnames: [shop.example.com]
  rules:
` + rules
}

const (
	replacePrefixMsg = "spec.rules[0]: Invalid value: When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified"
	skippedRulesMsg  = "<object>: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"
)

func TestHTTPRoute(t *testing.T) {
	v := loadHTTPRoute(t)
	tests := []struct {
		name   string
		object string
		want   []string
	}{
		{
			name: "valid",
			object: route(`
    - matches:
        - path: {type: PathPrefix, value: /api}
      backendRefs:
        - name: shop-api
          port: 8080
`),
		},
		{
			name: "v1beta1 is served",
			object: strings.Replace(route(`
    - backendRefs:
        - name: shop-api
          port: 8080
`), "gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1", 1),
		},
		{
			name: "unknown field",
			object: route(`
    - backendRefs:
        - name: shop-api
          port: 8080
          weigth: 3
`),
			want: []string{"spec.rules[0].backendRefs[0].weigth: unknown field"},
		},
		{
			name: "unknown metadata field",
			object: strings.Replace(route(`
    - backendRefs:
        - {name: shop-api, port: 8080}
`), "  namespace: team\n", "  namespace: team\n  lables: {a: b}\n", 1),
			want: []string{"metadata.lables: unknown field"},
		},
		{
			name: "ReplacePrefixMatch with two matches",
			object: route(`
    - matches:
        - path: {type: PathPrefix, value: /a}
        - path: {type: PathPrefix, value: /b}
      filters:
        - type: URLRewrite
          urlRewrite:
            path: {type: ReplacePrefixMatch, replacePrefixMatch: /}
      backendRefs:
        - {name: shop-api, port: 8080}
`),
			want: []string{replacePrefixMsg},
		},
		{
			name: "defaults are applied before CEL",
			// path.type defaults to PathPrefix, and backendRefs' group and
			// kind to "" and Service: without them both rules would fail.
			object: route(`
    - matches:
        - path: {value: /a}
      filters:
        - type: URLRewrite
          urlRewrite:
            path: {type: ReplacePrefixMatch, replacePrefixMatch: /}
      backendRefs:
        - name: shop-api
`),
			want: []string{"spec.rules[0].backendRefs[0]: Invalid value: Must have port for Service reference"},
		},
		{
			name: "path with a double slash",
			object: route(`
    - matches:
        - path: {type: Exact, value: //x}
      backendRefs:
        - {name: shop-api, port: 8080}
`),
			want: []string{"spec.rules[0].matches[0].path: Invalid value: must not contain '//' when type one of ['Exact', 'PathPrefix']"},
		},
		{
			name: "Service backendRef without port",
			object: route(`
    - backendRefs:
        - {name: shop-api, kind: Service}
`),
			want: []string{"spec.rules[0].backendRefs[0]: Invalid value: Must have port for Service reference"},
		},
		{
			name: "a type error skips CEL as the API server does",
			object: route(`
    - matches:
        - path: {type: Exact, value: //x}
      backendRefs:
        - {name: shop-api, port: eighty}
`),
			want: []string{
				skippedRulesMsg,
				"spec.rules[0].backendRefs[0].port: Invalid value: \"string\": spec.rules[0].backendRefs[0].port in body must be of type integer: \"string\"",
			},
		},
		{
			name: "status is dropped on create",
			object: route(`
    - backendRefs:
        - {name: shop-api, port: 8080}
`) + "status: {parents: null, bogus: 1}\n",
		},
		{
			name: "invalid name",
			object: strings.Replace(route(`
    - backendRefs:
        - {name: shop-api, port: 8080}
`), "name: shop\n", "name: Shop_1\n", 1),
			want: []string{"metadata.name: Invalid value: \"Shop_1\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"},
		},
		{
			name:   "wrong kind",
			object: strings.Replace(route(""), "kind: HTTPRoute", "kind: GRPCRoute", 1),
			want:   []string{"kind: Invalid value: \"GRPCRoute\": must be HTTPRoute"},
		},
		{
			name:   "wrong group",
			object: strings.Replace(route(""), "gateway.networking.k8s.io/v1", "networking.k8s.io/v1", 1),
			want:   []string{"apiVersion: Invalid value: \"networking.k8s.io/v1\": must be in group gateway.networking.k8s.io"},
		},
		{
			name:   "unserved version",
			object: strings.Replace(route(""), "gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1alpha2", 1),
			want:   []string{"apiVersion: Unsupported value: \"gateway.networking.k8s.io/v1alpha2\": supported values: \"gateway.networking.k8s.io/v1\", \"gateway.networking.k8s.io/v1beta1\""},
		},
		{
			name:   "not an object",
			object: "- a\n- b\n",
			want:   []string{"<object>: not an object: json: cannot unmarshal array into Go value of type map[string]interface {}"},
		},
		{
			name:   "duplicate key",
			object: "kind: HTTPRoute\nkind: HTTPRoute\n",
			want:   []string{`<object>: yaml: unmarshal errors:` + "\n" + `  line 2: key "kind" already set in map`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Subtests share one Validator in parallel: under -race this
			// checks that it is safe for concurrent use.
			t.Parallel()
			got := v.Validate([]byte(tt.object))
			if !slices.Equal(got, tt.want) {
				t.Errorf("Validate() =\n  %q\nwant\n  %q", got, tt.want)
			}
		})
	}
}

func TestValidatorRunsRules(t *testing.T) {
	v, err := LoadFile("testdata/widgets.yaml")
	if err != nil {
		t.Fatal(err)
	}
	widget := func(spec string) string {
		return "apiVersion: test.promisekit.dev/v1\nkind: Widget\nmetadata: {name: w}\nspec:\n" + spec
	}
	tests := []struct {
		name   string
		object string
		want   []string
	}{
		{name: "valid", object: widget("  min: 3\n  max: 4\n  tags: [a, b]\n")},
		{name: "default max satisfies the rule", object: widget("  min: 10\n")},
		{
			name:   "rule fails against the default",
			object: widget("  min: 11\n"),
			want:   []string{`spec: Invalid value: min must not exceed max`},
		},
		{
			name:   "rule fails",
			object: widget("  min: 5\n  max: 4\n"),
			want:   []string{`spec: Invalid value: min must not exceed max`},
		},
		{
			name:   "messageExpression",
			object: widget("  min: 1\n  tags: [a, kube-x]\n"),
			want:   []string{`spec: Invalid value: tag kube-x is reserved`},
		},
		{
			name:   "set with a duplicate",
			object: widget("  min: 1\n  tags: [a, a]\n"),
			want:   []string{`spec.tags[1]: Duplicate value: "a"`},
		},
		{
			name:   "schema error and rule error together",
			object: widget("  min: -1\n  max: -2\n"),
			want: []string{
				`spec.min: Invalid value: -1: spec.min in body should be greater than or equal to 0`,
				`spec: Invalid value: min must not exceed max`,
			},
		},
		{
			name:   "required field missing blocks the rules",
			object: widget("  max: 4\n"),
			want:   []string{skippedRulesMsg, `spec.min: Required value`},
		},
		{
			name:   "embedded resource metadata",
			object: widget("  min: 1\n  template:\n    apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: a/b}\n"),
			// Embedded objects' names are checked as path segments.
			want: []string{`spec.template.metadata.name: Invalid value: "a/b": may not contain '/'`},
		},
		{
			name:   "status subresource: status is not validated",
			object: widget("  min: 1\n") + "status: {ready: maybe}\n",
		},
		{
			name:   "version not served",
			object: strings.Replace(widget("  min: 1\n"), "/v1", "/v0", 1),
			want:   []string{`apiVersion: Unsupported value: "test.promisekit.dev/v0": supported values: "test.promisekit.dev/v1"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := v.Validate([]byte(tt.object))
			if !slices.Equal(got, tt.want) {
				t.Errorf("Validate() =\n  %q\nwant\n  %q", got, tt.want)
			}
		})
	}
}

func TestLoadRefusesInvalidCRDs(t *testing.T) {
	valid := `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.test.promisekit.dev}
spec:
  group: test.promisekit.dev
  scope: Namespaced
  names: {kind: Widget, plural: widgets}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                replicas: {type: integer}
              x-kubernetes-validations: [{rule: "!has(self.replicas) || self.replicas > 0"}]
`
	if _, err := Load([]byte(valid)); err != nil {
		t.Fatalf("Load(valid CRD): %v", err)
	}
	tests := []struct {
		name, old, new, want string
	}{
		{"CEL that does not compile", "self.replicas > 0", "self.replica > 0", "compilation failed"},
		{"unknown CRD field", "scope: Namespaced", "scope: Namespaced\n  scoop: x", `unknown field "spec.scoop"`},
		{"name not plural.group", "name: widgets.test", "name: gadgets.test", `must be spec.names.plural+"."+spec.group`},
		{"no version served", "served: true", "served: false", "serves no version"},
		{"not a CRD", "kind: CustomResourceDefinition", "kind: Widget", "not an apiextensions.k8s.io/v1 CustomResourceDefinition"},
		{"non-structural schema", "type: object\n              properties", "properties", "properties[spec].type: Required value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			crd := strings.Replace(valid, tt.old, tt.new, 1)
			if crd == valid {
				t.Fatalf("test case does not change the CRD")
			}
			_, err := Load([]byte(crd))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load() error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestValidatorIsSafeForConcurrentUse(t *testing.T) {
	v, err := LoadFile("testdata/widgets.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objects := map[string][]string{
		"apiVersion: test.promisekit.dev/v1\nkind: Widget\nmetadata: {name: a}\nspec: {min: 1}\n":  nil,
		"apiVersion: test.promisekit.dev/v1\nkind: Widget\nmetadata: {name: b}\nspec: {min: 20}\n": {`spec: Invalid value: min must not exceed max`},
	}
	var wg sync.WaitGroup
	for range 8 {
		for obj, want := range objects {
			wg.Go(func() {
				if got := v.Validate([]byte(obj)); !slices.Equal(got, want) {
					t.Errorf("Validate() = %q, want %q", got, want)
				}
			})
		}
	}
	wg.Wait()
}

func BenchmarkLoadHTTPRoute(b *testing.B) {
	crd, err := ModuleFile("sigs.k8s.io/gateway-api", httpRouteCRD)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Load(crd); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateHTTPRoute(b *testing.B) {
	v := loadHTTPRoute(b)
	obj := []byte(route(`
    - matches:
        - path: {value: /api}
      filters:
        - type: URLRewrite
          urlRewrite:
            path: {type: ReplacePrefixMatch, replacePrefixMatch: /}
      backendRefs:
        - {name: shop-api, port: 8080}
`))
	for b.Loop() {
		if problems := v.Validate(obj); len(problems) > 0 {
			b.Fatal(problems)
		}
	}
}
