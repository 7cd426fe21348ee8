package apiaggregator

import (
	"testing"

	"github.com/promisekit/promisekit/internal/hostile"
	"github.com/promisekit/promisekit/internal/stagetest"
)

// TestHostileTargets runs the corpus in
// testdata/hostile/apiaggregatortarget, and the generated cases, through
// the CRD in apiaggregatortarget-promise.yaml and the stage, after a
// valid target of a configured aggregator has been rendered.
func TestHostileTargets(t *testing.T) {
	const (
		dnsLabel = "metadata.name: must be a DNS label"
		// The API server's own check comes first: a name it could not
		// have stored is refused as it would refuse it.
		dnsSubdomain = "metadata.name: must be a DNS subdomain"
		// The CRD states the target's name rule on the whole object.
		nameRule = "<object>: Invalid value"
		segments = "must contain only letters, digits and -._~ between slashes"
	)
	cases := []hostile.Case{
		{File: "missing-service.yaml", Admission: hostile.Schema("spec.service: Required value"), Stage: "spec.service.name: must be a Service name"},
		{File: "missing-paths.yaml", Admission: hostile.Schema("spec.paths: Required value"), Stage: "spec.paths: must list at least one path"},
		{File: "missing-spec.yaml", Admission: hostile.Schema("spec: Required value"), Stage: "spec.aggregatorRef.name: must be an ApiAggregator name"},
		{File: "missing-name.yaml", Admission: hostile.Meta("metadata.name: Required value"), Stage: "input object: metadata.name is required"},
		{File: "wrong-type-port.yaml", Admission: hostile.Schema("spec.service.port: Invalid value"), Stage: "spec.service.port: must be an integer, not string"},
		{File: "fractional-port.yaml", Admission: hostile.Schema("spec.service.port: Invalid value"), Stage: "spec.service.port: must be an integer, not number"},
		{File: "port-overflow.yaml", Admission: hostile.Schema("spec.service.port: Invalid value"), Stage: "spec.service.port: must be an integer, not number"},
		{File: "wrong-type-paths.yaml", Admission: hostile.Schema("spec.paths: Invalid value"), Stage: "spec.paths: must be a list, not string"},
		{File: "spec-not-an-object.yaml", Admission: hostile.Schema("spec: Invalid value"), Stage: "spec: must be an object, not array"},
		{File: "long-name.yaml", Admission: hostile.Schema(nameRule), Stage: dnsLabel},
		{File: "very-long-name.yaml", Admission: hostile.Meta("metadata.name: Invalid value"), Stage: dnsSubdomain},
		{File: "long-prefix.yaml", Admission: hostile.Schema("spec.paths[0].prefix: Too long"), Stage: "spec.paths[0].prefix: must be at most 256 characters"},
		{File: "too-many-paths.yaml", Admission: hostile.Schema("spec.paths: Too many"), Stage: "spec.paths: must list at most 128 paths"},
		{File: "non-ascii-name.yaml", Admission: hostile.Meta("metadata.name: Invalid value"), Stage: dnsSubdomain},
		{File: "confusable-name.yaml", Admission: hostile.Meta("metadata.name: Invalid value"), Stage: dnsSubdomain},
		{File: "confusable-service.yaml", Admission: hostile.Schema("spec.service.name: Invalid value"), Stage: "spec.service.name: must be a Service name"},
		{File: "non-ascii-prefix.yaml", Admission: hostile.Schema("spec.paths[0].prefix: Invalid value"), Stage: "spec.paths[0].prefix: " + segments + ", not 'ö'"},
		{File: "zero-width-prefix.yaml", Admission: hostile.Schema("spec.paths[0].prefix: Invalid value"), Stage: "spec.paths[0].prefix: " + segments + `, not '\u200b'`},
		{File: "traversal-name.yaml", Admission: hostile.Meta("metadata.name: Invalid value"), Stage: dnsSubdomain},
		{File: "slash-name.yaml", Admission: hostile.Meta("metadata.name: Invalid value"), Stage: dnsSubdomain},
		{File: "encoded-traversal-name.yaml", Admission: hostile.Meta("metadata.name: Invalid value"), Stage: dnsSubdomain},
		{File: "traversal-namespace.yaml", Admission: hostile.Meta("metadata.namespace: Invalid value"), Stage: "metadata.namespace: must be a DNS label"},
		{File: "traversal-prefix.yaml", Admission: hostile.Schema("spec.paths[0].prefix: Invalid value"), Stage: `spec.paths[0].prefix: must not contain "." or ".." segments`},
		{File: "encoded-traversal-prefix.yaml", Admission: hostile.Schema("spec.paths[0].prefix: Invalid value"), Stage: "spec.paths[0].prefix: " + segments},
		{File: "traversal-rewrite.yaml", Admission: hostile.Schema("spec.paths[0].rewrite: Invalid value"), Stage: `spec.paths[0].rewrite: must not contain "." or ".." segments`},
		{File: "traversal-aggregator-namespace.yaml", Admission: hostile.Schema("spec.aggregatorRef.namespace: Invalid value"), Stage: "spec.aggregatorRef.namespace: must be a namespace name"},
		{File: "traversal-service-namespace.yaml", Admission: hostile.Schema("spec.service.namespace: Invalid value"), Stage: "spec.service.namespace: must be a namespace name"},
		{File: "duplicate-paths.yaml", Admission: hostile.Schema("spec.paths[2]: Duplicate value"), Stage: `spec.paths[2].prefix: "/orders" is already spec.paths[0].prefix`},
		// kubectl expands the alias, and the CRD refuses the duplicate.
		{File: "duplicate-paths-by-alias.yaml", Admission: hostile.Schema("spec.paths[1]: Duplicate value"), Stage: "input object: YAML anchors and aliases are not allowed"},
		{File: "unknown-field.yaml", Admission: hostile.Schema("spec.paths[1].prefx: unknown field"), Stage: "spec.paths[1].prefx: unknown field"},
		{File: "unknown-top-level-field.yaml", Admission: hostile.Schema("specs: unknown field"), Stage: "specs: unknown field"},
		{File: "duplicate-key.yaml", Admission: hostile.DuplicateKey(), Stage: `input object: yaml: unmarshal errors:; line 14: key "port" already set in map`},
		{File: "multiple-documents.yaml", Admission: hostile.OneDocumentEach(), Stage: "input object: 2 YAML documents"},
		{File: "list.yaml", Admission: hostile.NotAnObject("not an object"), Stage: "input object: the document is a list, not an object"},
		{File: "scalar.yaml", Admission: hostile.NotAnObject("not an object"), Stage: "input object: the document is a string, not an object"},
		{File: "empty.yaml", Admission: hostile.NotAnObject("empty document"), Stage: "input object: empty document"},
		{File: "wrong-apiversion.yaml", Admission: hostile.NotServed("apiVersion"), Stage: `input object: apiVersion "apiaggregator.promisekit.io/v1" is not apiaggregator.promisekit.io/v1alpha1`},
		{File: "wrong-kind.yaml", Admission: hostile.NotServed("kind"), Stage: `input object: kind "ApiAggregatorRoute" is neither ApiAggregator nor ApiAggregatorTarget`},
		{File: "billion-laughs.yaml", Admission: hostile.AliasRatio(), Stage: "input object: YAML anchors and aliases are not allowed"},
	}
	orders := readFile(t, "examples/orders.yaml")
	hostile.Run(t, hostile.Target{
		CRD: admission(t),
		Dir: "testdata/hostile/apiaggregatortarget",
		Harness: func(t *testing.T) *stagetest.Harness {
			p := newPlatform(t, "")
			p.configure(p.request(readFile(t, "examples/portal.yaml")))
			return p.request(orders)
		},
	}, append(cases, hostile.Generated(t, orders)...))
}

// TestHostileAggregators runs the corpus in
// testdata/hostile/apiaggregator, and the generated cases, through the CRD
// in apiaggregator-promise.yaml and the stage, after a valid aggregator
// has been rendered.
func TestHostileAggregators(t *testing.T) {
	const hostname = "spec.hostname: must be a lower-case DNS hostname"
	cases := []hostile.Case{
		{File: "missing-hostname.yaml", Admission: hostile.Schema("spec.hostname: Required value"), Stage: "spec.hostname: must not be empty"},
		{File: "missing-route-namespaces.yaml", Admission: hostile.Schema("spec.routeNamespaces: Required value"), Stage: "spec.routeNamespaces: set names, matchLabels or both"},
		{File: "missing-name.yaml", Admission: hostile.Meta("metadata.name: Required value"), Stage: "input object: metadata.name is required"},
		{File: "wrong-type-names.yaml", Admission: hostile.Schema("spec.routeNamespaces.names: Invalid value"), Stage: "spec.routeNamespaces.names: must be a list, not string"},
		{File: "wrong-type-hostname.yaml", Admission: hostile.Schema("spec.hostname: Invalid value"), Stage: "spec.hostname: must be a string, not number"},
		{File: "long-hostname.yaml", Admission: hostile.Schema("spec.hostname: Too long"), Stage: hostname},
		{File: "long-name.yaml", Admission: hostile.Schema("<object>: Invalid value"), Stage: "metadata.name: must be a DNS label"},
		{File: "non-ascii-hostname.yaml", Admission: hostile.Schema("spec.hostname: Invalid value"), Stage: hostname},
		{File: "confusable-hostname.yaml", Admission: hostile.Schema("spec.hostname: Invalid value"), Stage: hostname},
		{File: "confusable-name.yaml", Admission: hostile.Meta("metadata.name: Invalid value"), Stage: "metadata.name: must be a DNS subdomain"},
		{File: "traversal-name.yaml", Admission: hostile.Meta("metadata.name: Invalid value"), Stage: "metadata.name: must be a DNS subdomain"},
		{File: "encoded-traversal-name.yaml", Admission: hostile.Meta("metadata.name: Invalid value"), Stage: "metadata.name: must be a DNS subdomain"},
		{File: "slash-name.yaml", Admission: hostile.Meta("metadata.name: Invalid value"), Stage: "metadata.name: must be a DNS subdomain"},
		{File: "traversal-secret-name.yaml", Admission: hostile.Schema("spec.tls.secretName: Invalid value"), Stage: "spec.tls.secretName: must be a Secret name"},
		{File: "traversal-route-namespace.yaml", Admission: hostile.Schema("spec.routeNamespaces.names[1]: Invalid value"), Stage: "spec.routeNamespaces.names[1]: must be a namespace name"},
		{File: "slash-hostname.yaml", Admission: hostile.Schema("spec.hostname: Invalid value"), Stage: hostname},
		{File: "unknown-field.yaml", Admission: hostile.Schema("spec.tls.issuer.kidn: unknown field"), Stage: "spec.tls.issuer.kidn: unknown field"},
		{File: "duplicate-key.yaml", Admission: hostile.DuplicateKey(), Stage: `input object: yaml: unmarshal errors:; line 9: key "hostname" already set in map`},
		{File: "multiple-documents.yaml", Admission: hostile.OneDocumentEach(), Stage: "input object: 2 YAML documents"},
		{File: "list.yaml", Admission: hostile.NotAnObject("not an object"), Stage: "input object: the document is a list, not an object"},
		{File: "scalar.yaml", Admission: hostile.NotAnObject("not an object"), Stage: "input object: the document is a string, not an object"},
		{File: "empty.yaml", Admission: hostile.NotAnObject("empty document"), Stage: "input object: empty document"},
		{File: "wrong-apiversion.yaml", Admission: hostile.NotServed("apiVersion"), Stage: `input object: apiVersion "gateway.networking.k8s.io/v1" is not apiaggregator.promisekit.io/v1alpha1`},
		{File: "wrong-kind.yaml", Admission: hostile.NotServed("kind"), Stage: `input object: kind "Gateway" is neither ApiAggregator nor ApiAggregatorTarget`},
		{File: "billion-laughs.yaml", Admission: hostile.AliasRatio(), Stage: "input object: YAML anchors and aliases are not allowed"},
		{File: "alias.yaml", Admission: hostile.AliasesExpanded(), Stage: "input object: YAML anchors and aliases are not allowed"},
	}
	portal := readFile(t, "examples/portal.yaml")
	hostile.Run(t, hostile.Target{
		CRD: admission(t),
		Dir: "testdata/hostile/apiaggregator",
		Harness: func(t *testing.T) *stagetest.Harness {
			return newPlatform(t, "").request(portal)
		},
	}, append(cases, hostile.Generated(t, portal)...))
}
