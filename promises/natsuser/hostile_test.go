package natsuser

import (
	"testing"

	"github.com/promisekit/promisekit/internal/apiserver"
	"github.com/promisekit/promisekit/internal/hostile"
	"github.com/promisekit/promisekit/internal/stagetest"
)

// TestHostileRequests runs the corpus in testdata/hostile/natsuser, and
// the generated cases, through the CRD in promise.yaml and the stage,
// after a valid request has been served by a self-hosted account.
func TestHostileRequests(t *testing.T) {
	const subjectPattern = "is not a NATS subject"
	cases := []hostile.Case{
		{File: "missing-name.yaml", Admission: hostile.Meta("metadata.name: Required value"), Stage: "input object: metadata.name is required"},
		{File: "missing-apiversion.yaml", Admission: hostile.NotServed("apiVersion"), Stage: "input object: apiVersion and kind are required"},
		{File: "wrong-type-allow.yaml", Admission: hostile.Schema("spec.publish.allow: Invalid value"), Stage: "spec.publish.allow: must be a list, not string"},
		{File: "wrong-type-limit.yaml", Admission: hostile.Schema("spec.limits.payload: Invalid value"), Stage: "spec.limits.payload: must be an integer, not string"},
		{File: "fractional-max-messages.yaml", Admission: hostile.Schema("spec.responses.maxMessages: Invalid value"), Stage: "spec.responses.maxMessages: must be an integer, not number"},
		{File: "limit-overflow.yaml", Admission: hostile.Schema("spec.limits.data: Invalid value"), Stage: "spec.limits.data: must be an integer, not number"},
		{File: "yaml-tag-limit.yaml", Admission: hostile.Schema("spec.limits.payload: Invalid value"), Stage: "spec.limits.payload: must be an integer, not string"},
		{File: "long-name.yaml", Admission: hostile.Meta("metadata.name: Invalid value"), Stage: "metadata.name: must be a DNS subdomain"},
		{
			File:      "name-too-long-for-the-secret.yaml",
			Admission: hostile.Accepted("the name is valid, and the CRD states no rule on it: that the default Secret name, the name and \"-nats\", must fit 253 characters is the stage's to know"),
			Stage:     "metadata.name: is too long for the default Secret name",
		},
		{File: "long-subject.yaml", Admission: hostile.Schema("spec.publish.allow[0]: Too long"), Stage: "spec.publish.allow[0]: longer than 255 characters"},
		{File: "too-many-subjects.yaml", Admission: hostile.Schema("spec.subscribe.allow: Too many"), Stage: "spec.subscribe.allow: at most 64 subjects"},
		{File: "non-ascii-name.yaml", Admission: hostile.Meta("metadata.name: Invalid value"), Stage: "metadata.name: must be a DNS subdomain"},
		{File: "confusable-name.yaml", Admission: hostile.Meta("metadata.name: Invalid value"), Stage: "metadata.name: must be a DNS subdomain"},
		{File: "non-ascii-subject.yaml", Admission: hostile.Schema("spec.publish.allow[0]: Invalid value"), Stage: "spec.publish.allow[0]: \"bestellungen.größe\" " + subjectPattern},
		{File: "confusable-account.yaml", Admission: hostile.Schema("spec.account: Invalid value"), Stage: "spec.account: must be a DNS label"},
		{File: "traversal-name.yaml", Admission: hostile.Meta("metadata.name: Invalid value"), Stage: "metadata.name: must be a DNS subdomain"},
		{File: "slash-name.yaml", Admission: hostile.Meta("metadata.name: Invalid value"), Stage: "metadata.name: must be a DNS subdomain"},
		{File: "encoded-traversal-name.yaml", Admission: hostile.Meta("metadata.name: Invalid value"), Stage: "metadata.name: must be a DNS subdomain"},
		{File: "traversal-namespace.yaml", Admission: hostile.Meta("metadata.namespace: Invalid value"), Stage: "metadata.namespace: must be a DNS label"},
		{File: "traversal-secret-name.yaml", Admission: hostile.Schema("spec.secret.name: Invalid value"), Stage: "spec.secret.name: must be a DNS subdomain"},
		{File: "traversal-secret-key.yaml", Admission: hostile.Schema("spec.secret.key: Invalid value"), Stage: "spec.secret.key: must be a Secret key"},
		{File: "dot-dot-secret-key.yaml", Admission: hostile.Schema("spec.secret.key: Invalid value"), Stage: "spec.secret.key: must be a Secret key"},
		{File: "duplicate-subject.yaml", Admission: hostile.Schema("spec.publish.allow[1]: Duplicate value"), Stage: `spec.publish.allow[1]: "orders.events.>" is already listed at [0]`},
		{File: "unknown-field.yaml", Admission: hostile.Schema("spec.publish.alow: unknown field"), Stage: "spec.publish.alow: unknown field"},
		{File: "unknown-top-level-field.yaml", Admission: hostile.Schema("specs: unknown field"), Stage: "specs: unknown field"},
		{File: "duplicate-key.yaml", Admission: hostile.DuplicateKey(), Stage: `input object: yaml: unmarshal errors:; line 11: key "publish" already set in map`},
		{File: "multiple-documents.yaml", Admission: hostile.OneDocumentEach(), Stage: "input object: 2 YAML documents"},
		{File: "list.yaml", Admission: hostile.NotAnObject("not an object"), Stage: "input object: the document is a list, not an object"},
		{File: "scalar.yaml", Admission: hostile.NotAnObject("not an object"), Stage: "input object: the document is a string, not an object"},
		{File: "empty.yaml", Admission: hostile.NotAnObject("empty document"), Stage: "input object: empty document"},
		{File: "wrong-apiversion.yaml", Admission: hostile.NotServed("apiVersion"), Stage: `input object: apiVersion "nats.promisekit.dev/v1" is not nats.promisekit.dev/v1alpha1`},
		{File: "wrong-kind.yaml", Admission: hostile.NotServed("kind"), Stage: `input object: kind "NATSAccount" is not NATSUser`},
		{File: "renew-before-one-interval.yaml", Admission: hostile.Schema("spec.credentials.renewBefore: Invalid value"), Stage: "spec.credentials.renewBefore: must be at least 30m"},
		{File: "billion-laughs.yaml", Admission: hostile.AliasRatio(), Stage: "input object: YAML anchors and aliases are not allowed"},
		{File: "alias.yaml", Admission: hostile.AliasesExpanded(), Stage: "input object: YAML anchors and aliases are not allowed"},
	}
	e := newSelfHosted(t)
	hostile.Run(t, hostile.Target{
		CRD: admission(t),
		Dir: "testdata/hostile/natsuser",
		Harness: func(t *testing.T) *stagetest.Harness {
			return e.harness(t, "orders-api", ordersSpec)
		},
	}, append(cases, hostile.Generated(t, newRequest("orders-api", ordersSpec))...))
}

// api is the package's API server (internal/apiserver), started by the
// first test that asks for it and stopped by TestMain.
var api apiserver.Shared

// admission is the API server's own admission, the Promise's CRD
// installed, with no objects.
func admission(t *testing.T) apiserver.DryRun {
	t.Helper()
	return apiserver.DryRun{Server: api.For(t, "promise.yaml"), Ctx: t.Context()}
}
