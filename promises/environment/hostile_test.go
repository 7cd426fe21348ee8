package environment

import (
	"os"
	"path"
	"path/filepath"
	"slices"
	"testing"

	"github.com/promisekit/promisekit/pkg/kratix"

	"github.com/promisekit/promisekit/internal/apiserver"
	"github.com/promisekit/promisekit/internal/hostile"
	"github.com/promisekit/promisekit/internal/stagetest"
)

// TestHostileRequests runs the corpus in testdata/hostile/environment, and
// the generated cases, through the CRD in promise.yaml and the stage,
// after a valid preview environment has been configured. The stage runs
// as the lean binary does, with no AWS client, no HTTP client and no
// hand-over: in AWS mode none (the embedded defaults), or for the cases
// in ackMode in the ack mode of examples/platform/ack.yaml, where a run
// that got through would declare an ECR repository and an IAM role named
// after the request. Neither mode reaches outside.
func TestHostileRequests(t *testing.T) {
	const (
		offers = "; this platform offers development, preview"
		// The API server's own check comes first: a name it could not
		// have stored is refused as it would refuse it.
		dnsSubdomain = "metadata.name: must be a DNS subdomain"
		// The name is the environment's namespace: the CRD states the
		// rule on the whole object, the stage on the name.
		nameRule      = "<object>: Invalid value"
		dnsLabel      = "metadata.name: must be at most 63 lower-case letters, digits or '-'"
		ttlSyntax     = ": want a whole number of minutes, hours or days"
		teamGroupRule = "spec.teamGroup: must be at most 253 characters, without spaces or control characters"
		// The longest lifetime is the platform's, which the API server
		// never sees.
		maxTTL = "the pattern allows six digits; the longest lifetime is config.maxTTL, in the platform's configuration, which only the stage reads"
	)
	cases := []hostile.Case{
		{File: "missing-type.yaml", Admission: hostile.Schema("spec.type: Required value"), Stage: "spec.type: required" + offers},
		{File: "missing-team-group.yaml", Admission: hostile.Schema("spec.teamGroup: Required value"), Stage: "spec.teamGroup: required"},
		{File: "missing-spec.yaml", Admission: hostile.Schema("spec: Required value"), Stage: "spec.type: required" + offers + "; spec.teamGroup: required"},
		{File: "missing-name.yaml", Admission: hostile.Meta("metadata.name: Required value"), Stage: "input object: metadata.name is required"},
		{File: "missing-apiversion.yaml", Admission: hostile.NotServed("apiVersion"), Stage: "input object: apiVersion and kind are required"},
		{File: "spec-not-an-object.yaml", Admission: hostile.Schema("spec: Invalid value"), Stage: "spec: must be an object, not string"},
		{File: "wrong-type-install-infra.yaml", Admission: hostile.Schema("spec.installInfra: Invalid value"), Stage: "spec.installInfra: must be a boolean, not string"},
		{File: "yaml-tag-install-infra.yaml", Admission: hostile.Schema("spec.installInfra: Invalid value"), Stage: "spec.installInfra: must be a boolean, not string"},
		{File: "wrong-type-frontend-debug.yaml", Admission: hostile.Schema("spec.frontend.debug: Invalid value"), Stage: "spec.frontend.debug: must be a boolean, not string"},
		{File: "wrong-type-frontend.yaml", Admission: hostile.Schema("spec.frontend: Invalid value"), Stage: "spec.frontend: must be an object, not bool"},
		{File: "wrong-type-ttl.yaml", Admission: hostile.Schema("spec.ttl: Invalid value"), Stage: "spec.ttl: must be a string, not number"},
		{File: "wrong-type-team-group.yaml", Admission: hostile.Schema("spec.teamGroup: Invalid value"), Stage: "spec.teamGroup: must be a string, not array"},
		{
			File:      "unknown-type.yaml",
			Admission: hostile.Accepted("the types are config.types, in the platform's configuration, which only the stage reads; the CRD checks a type name's syntax"),
			Stage:     `spec.type: unknown type "production"` + offers,
		},
		{File: "invalid-type-name.yaml", Admission: hostile.Schema("spec.type: Invalid value"), Stage: `spec.type: unknown type "Preview"` + offers},
		{File: "long-type.yaml", Admission: hostile.Schema("spec.type: Invalid value"), Stage: `spec.type: unknown type "prrr…"` + offers},
		{File: "confusable-type.yaml", Admission: hostile.Schema("spec.type: Invalid value"), Stage: `spec.type: unknown type "prеview"` + offers},
		{File: "traversal-type.yaml", Admission: hostile.Schema("spec.type: Invalid value"), Stage: `spec.type: unknown type "../preview"` + offers},
		{File: "ttl-weeks.yaml", Admission: hostile.Schema("spec.ttl: Invalid value"), Stage: `spec.ttl: "2w"` + ttlSyntax},
		{File: "ttl-negative.yaml", Admission: hostile.Schema("spec.ttl: Invalid value"), Stage: `spec.ttl: "-1h"` + ttlSyntax},
		{File: "ttl-zero.yaml", Admission: hostile.Schema("spec.ttl: Invalid value"), Stage: `spec.ttl: "0d"` + ttlSyntax},
		{File: "ttl-go-duration.yaml", Admission: hostile.Schema("spec.ttl: Invalid value"), Stage: `spec.ttl: "1h30m"` + ttlSyntax},
		{File: "ttl-fraction.yaml", Admission: hostile.Schema("spec.ttl: Invalid value"), Stage: `spec.ttl: "1.5d"` + ttlSyntax},
		{File: "ttl-seven-digits.yaml", Admission: hostile.Schema("spec.ttl: Invalid value"), Stage: `spec.ttl: "1000000d"` + ttlSyntax},
		{File: "ttl-non-ascii-digit.yaml", Admission: hostile.Schema("spec.ttl: Invalid value"), Stage: `spec.ttl: "٧d"` + ttlSyntax},
		{
			File:      "ttl-too-short.yaml",
			Admission: hostile.Accepted("the pattern allows any whole number of minutes; the one-hour minimum is the stage's, longer than Kratix's shortest re-run interval"),
			Stage:     "spec.ttl: 30m is shorter than the minimum of 1h",
		},
		{
			File:      "ttl-too-long.yaml",
			Admission: hostile.Accepted(maxTTL),
			Stage:     "spec.ttl: 999999d is longer than this platform allows (720h)",
		},
		{
			File:      "ttl-overflow.yaml",
			Admission: hostile.Accepted(maxTTL),
			Stage:     "spec.ttl: 213505d is longer than this platform allows (720h)",
		},
		{File: "long-name.yaml", Admission: hostile.Schema(nameRule), Stage: dnsLabel},
		{File: "very-long-name.yaml", Admission: hostile.Meta("metadata.name: Invalid value"), Stage: dnsSubdomain},
		{File: "dotted-name.yaml", Admission: hostile.Schema(nameRule), Stage: dnsLabel},
		{File: "non-ascii-name.yaml", Admission: hostile.Meta("metadata.name: Invalid value"), Stage: dnsSubdomain},
		{File: "confusable-name.yaml", Admission: hostile.Meta("metadata.name: Invalid value"), Stage: dnsSubdomain},
		{File: "traversal-name.yaml", Admission: hostile.Meta("metadata.name: Invalid value"), Stage: dnsSubdomain},
		{File: "slash-name.yaml", Admission: hostile.Meta("metadata.name: Invalid value"), Stage: dnsSubdomain},
		{File: "encoded-traversal-name.yaml", Admission: hostile.Meta("metadata.name: Invalid value"), Stage: dnsSubdomain},
		{File: "traversal-namespace.yaml", Admission: hostile.Meta("metadata.namespace: Invalid value"), Stage: "metadata.namespace: must be a DNS label"},
		{File: "long-team-group.yaml", Admission: hostile.Schema("spec.teamGroup: Too long"), Stage: teamGroupRule},
		// Both count characters, not bytes: 254 here.
		{File: "long-non-ascii-team-group.yaml", Admission: hostile.Schema("spec.teamGroup: Too long"), Stage: teamGroupRule},
		{File: "empty-team-group.yaml", Admission: hostile.Schema("spec.teamGroup: Invalid value"), Stage: "spec.teamGroup: required"},
		{File: "team-group-with-space.yaml", Admission: hostile.Schema("spec.teamGroup: Invalid value"), Stage: teamGroupRule},
		{File: "team-group-newline.yaml", Admission: hostile.Schema("spec.teamGroup: Invalid value"), Stage: teamGroupRule},
		// The pattern excludes Unicode spaces (\p{Z}) and control
		// characters (\p{Cc}), as the stage does: U+00A0 and ESC here.
		{File: "team-group-no-break-space.yaml", Admission: hostile.Schema("spec.teamGroup: Invalid value"), Stage: teamGroupRule},
		{File: "team-group-escape-sequence.yaml", Admission: hostile.Schema("spec.teamGroup: Invalid value"), Stage: teamGroupRule},
		{File: "unknown-field.yaml", Admission: hostile.Schema("spec.frontend.debg: unknown field"), Stage: "spec.frontend.debg: unknown field"},
		{File: "unknown-spec-field.yaml", Admission: hostile.Schema("spec.namespace: unknown field"), Stage: "spec.namespace: unknown field"},
		{File: "unknown-top-level-field.yaml", Admission: hostile.Schema("specs: unknown field"), Stage: "specs: unknown field"},
		{File: "duplicate-key.yaml", Admission: hostile.DuplicateKey(), Stage: `input object: yaml: unmarshal errors:; line 10: key "type" already set in map`},
		{File: "multiple-documents.yaml", Admission: hostile.OneDocumentEach(), Stage: "input object: 2 YAML documents"},
		{File: "list.yaml", Admission: hostile.NotAnObject("not an object"), Stage: "input object: the document is a list, not an object"},
		{File: "scalar.yaml", Admission: hostile.NotAnObject("not an object"), Stage: "input object: the document is a string, not an object"},
		{File: "empty.yaml", Admission: hostile.NotAnObject("empty document"), Stage: "input object: empty document"},
		{File: "wrong-apiversion.yaml", Admission: hostile.NotServed("apiVersion"), Stage: `input object: apiVersion "platform.promisekit.dev/v1" is not platform.promisekit.dev/v1alpha1`},
		{File: "wrong-kind.yaml", Admission: hostile.NotServed("kind"), Stage: `input object: kind "EnvironmentType" is not Environment`},
		{File: "billion-laughs.yaml", Admission: hostile.AliasRatio(), Stage: "input object: YAML anchors and aliases are not allowed"},
		{File: "alias.yaml", Admission: hostile.AliasesExpanded(), Stage: "input object: YAML anchors and aliases are not allowed"},
	}
	// ackMode are the cases run with examples/platform/ack.yaml rather
	// than the defaults: refusals that come after the configuration is
	// read, of requests whose name or lifetime would reach the ACK
	// resources.
	ackMode := map[string]bool{
		"unknown-type.yaml": true, "ttl-overflow.yaml": true, "long-name.yaml": true,
		"dotted-name.yaml": true, "team-group-no-break-space.yaml": true,
	}
	for file := range ackMode {
		if !slices.ContainsFunc(cases, func(c hostile.Case) bool { return c.File == file }) {
			t.Errorf("ackMode lists %s, which is not in the table", file)
		}
	}
	ackConfig, err := filepath.Abs("examples/platform/ack.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(ackConfig); err != nil {
		t.Fatal(err) // a missing file would mean the defaults
	}
	base := request(t, "examples/preview.yaml", nil)
	hostile.Run(t, hostile.Target{
		CRD: admission(t),
		Dir: "testdata/hostile/environment",
		Harness: func(t *testing.T) *stagetest.Harness {
			h := stagetest.New(t, "environment", Workflows(Outside{}), configureWorkflow, base)
			// Not the default path: a machine running the tests may have one.
			h.Env[kratix.ConfigVariable] = stagetest.EmptyConfig(t)
			if ackMode[path.Base(t.Name())+".yaml"] {
				h.Env[kratix.ConfigVariable] = ackConfig
			}
			return h
		},
	}, append(cases, hostile.Generated(t, base)...))
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
