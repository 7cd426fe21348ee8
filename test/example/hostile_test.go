package example

import (
	"testing"

	"github.com/promisekit/promisekit/internal/hostile"
	"github.com/promisekit/promisekit/internal/stagetest"
)

// TestHostileRequests runs the corpus in testdata/hostile/greeting, and
// the generated cases, through the CRD in promise.yaml and the stage.
func TestHostileRequests(t *testing.T) {
	base := readFile(t, "examples/greeting.yaml")
	cases := []hostile.Case{
		{File: "missing-greeting.yaml", Admission: hostile.Schema("spec.greeting: Required value"), Stage: "spec.greeting: is required"},
		{File: "missing-spec.yaml", Admission: hostile.Schema("spec: Required value"), Stage: "spec.greeting: is required"},
		{File: "missing-name.yaml", Admission: hostile.Meta("metadata.name: Required value"), Stage: "input object: metadata.name is required"},
		{File: "wrong-type-greeting.yaml", Admission: hostile.Schema("spec.greeting: Invalid value"), Stage: "spec.greeting: must be a string, not array"},
		{File: "wrong-type-replicas.yaml", Admission: hostile.Schema("spec.replicas: Invalid value"), Stage: "spec.replicas: must be an integer, not string"},
		{File: "yaml-tag-replicas.yaml", Admission: hostile.Schema("spec.replicas: Invalid value"), Stage: "spec.replicas: must be an integer, not string"},
		{File: "replicas-overflow.yaml", Admission: hostile.Schema("spec.replicas: Invalid value"), Stage: "spec.replicas: must be an integer"},
		{File: "spec-not-an-object.yaml", Admission: hostile.Schema("spec: Invalid value"), Stage: "spec: must be an object, not string"},
		{File: "long-greeting.yaml", Admission: hostile.Schema("spec.greeting: Too long"), Stage: "spec.greeting: must be at most 64 characters"},
		{File: "long-name.yaml", Admission: hostile.Meta("metadata.name: Invalid value"), Stage: "metadata.name: must be a DNS subdomain"},
		{File: "non-ascii-name.yaml", Admission: hostile.Meta("metadata.name: Invalid value"), Stage: "metadata.name: must be a DNS subdomain"},
		{File: "confusable-name.yaml", Admission: hostile.Meta("metadata.name: Invalid value"), Stage: "metadata.name: must be a DNS subdomain"},
		{File: "traversal-name.yaml", Admission: hostile.Meta("metadata.name: Invalid value"), Stage: "metadata.name: must be a DNS subdomain"},
		{File: "slash-name.yaml", Admission: hostile.Meta("metadata.name: Invalid value"), Stage: "metadata.name: must be a DNS subdomain"},
		{File: "encoded-traversal-name.yaml", Admission: hostile.Meta("metadata.name: Invalid value"), Stage: "metadata.name: must be a DNS subdomain"},
		{File: "traversal-namespace.yaml", Admission: hostile.Meta("metadata.namespace: Invalid value"), Stage: "metadata.namespace: must be a DNS label"},
		{File: "unknown-field.yaml", Admission: hostile.Schema("spec.replica: unknown field"), Stage: "spec.replica: unknown field"},
		{File: "unknown-top-level-field.yaml", Admission: hostile.Schema("specs: unknown field"), Stage: "specs: unknown field"},
		{File: "duplicate-key.yaml", Admission: hostile.DuplicateKey(), Stage: `input object: yaml: unmarshal errors:; line 9: key "greeting" already set in map`},
		{File: "multiple-documents.yaml", Admission: hostile.OneDocumentEach(), Stage: "input object: 2 YAML documents"},
		{File: "list.yaml", Admission: hostile.NotAnObject("not an object"), Stage: "input object: the document is a list, not an object"},
		{File: "scalar.yaml", Admission: hostile.NotAnObject("not an object"), Stage: "input object: the document is a string, not an object"},
		{File: "empty.yaml", Admission: hostile.NotAnObject("empty document"), Stage: "input object: empty document"},
		{File: "wrong-apiversion.yaml", Admission: hostile.NotServed("apiVersion"), Stage: `input object: apiVersion "example.promisekit.dev/v1" is not example.promisekit.dev/v1alpha1`},
		{File: "wrong-kind.yaml", Admission: hostile.NotServed("kind"), Stage: `input object: kind "Farewell" is not Greeting`},
		{File: "billion-laughs.yaml", Admission: hostile.AliasRatio(), Stage: "input object: YAML anchors and aliases are not allowed"},
		{File: "alias.yaml", Admission: hostile.AliasesExpanded(), Stage: "input object: YAML anchors and aliases are not allowed"},
	}
	hostile.Run(t, hostile.Target{
		CRD: loadOwnCRD(t),
		Dir: "testdata/hostile/greeting",
		Harness: func(t *testing.T) *stagetest.Harness {
			return stagetest.New(t, "example", Workflows(Outside{}), workflow, base)
		},
	}, append(cases, hostile.Generated(t, base)...))
}
