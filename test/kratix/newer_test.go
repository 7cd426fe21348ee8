package contract

import (
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
)

// kratixUpstream is the syntasso/kratix commit whose source the fields
// newer than the pinned module were read at (2026-08-21; fetched with
// `fetch github:syntasso/kratix`): api/v1alpha1/promise_types.go
// (WorkflowConfig), pipeline_types.go (PipelineSpec, ForPromise,
// ForResource), pipeline_factory.go and
// internal/webhook/v1alpha1/promise_webhook.go. The module proxy serves
// Kratix only up to the pin (../../../shared/notes/pinned-versions.md), so
// these fields cannot be decoded with Kratix's own types here.
const kratixUpstream = "ae170e22e974e45bb7cfda00986057e01b3ccfde"

// newerField is one Promise field Kratix added after the pinned module:
// where it sits, the upstream commit that added it, and the rules the
// upstream source applies to it. Everything else in a Promise is decoded
// strictly with the pinned types; this list is the only exception.
type newerField struct {
	// Path is the field's place, "[]" standing for each pipeline of
	// spec.workflows.{resource,promise}.{configure,delete}.
	Path string
	// Added is the upstream commit (and pull request) that added it.
	Added string
	// Check returns what upstream would refuse in value.
	Check func(value any) []string
}

// newerFields are the Promise fields newer than the pin, as upstream
// declares them at kratixUpstream. A field upstream has and the pin lacks
// that is not listed here is refused by the strict decode.
var newerFields = []newerField{
	{
		// WorkflowConfig.PipelineNamespace string `json:"pipelineNamespace,omitempty"`
		// (CRD: type string): "Namespace for all workflow jobs (promise and
		// resource) to run in; needs to be an existing namespace". Empty
		// means unset (WorkflowPipelineNamespaceSet). The factory creates
		// the Job and ServiceAccount in it, so it must be a namespace name,
		// which the API server's ValidateObjectMeta requires of every
		// namespaced object (the webhook's dry-run create of the Job).
		Path:  "spec.workflows.config.pipelineNamespace",
		Added: "46e85a56bebb43d04fefb9866cf28fd1a5c2106b (PR #585, 2025-09-10)",
		Check: func(v any) []string {
			s, ok := v.(string)
			if !ok {
				return []string{fmt.Sprintf("%v is not a string", v)}
			}
			if s == "" {
				return nil
			}
			return utilvalidation.IsDNS1123Label(s)
		},
	},
	{
		// WorkflowConfig.ReconciliationInterval *metav1.Duration (a Go
		// duration string): "Interval at which all workflows (promise and
		// resource) defined in this Promise are reconciled; if not set,
		// defaults to the platform-wide reconciliation interval".
		// promise_webhook.go validateReconciliationInterval refuses less
		// than v1alpha1.MinReconciliationInterval (1m, declared in
		// promiserevision_types.go). The interval is read from the
		// Promise's revision (PromiseRevision.ReconciliationInterval),
		// where the annotation kratix.io/reconciliation-interval, mirrored
		// from the Promise (16f9cd3b PR #878, a9b76022 PR #880, both
		// 2026-08-18), wins over this field; a resource is re-run once the
		// interval has passed since its ConfigureWorkflowCompleted
		// condition last changed (dynamic_resource_request_controller.go
		// shouldForcePipelineRun). interval_test.go keeps the annotation
		// out of this repository's Promises.
		Path:  "spec.workflows.config.reconciliationInterval",
		Added: "d01fd3a5f3cdd5a9ecccef7590cfcc8d670c6965 (PR #877, 2026-08-18)",
		Check: func(v any) []string {
			s, _ := v.(string)
			if d, err := time.ParseDuration(s); err != nil || d < time.Minute {
				return []string{fmt.Sprintf("%v is not a Go duration of at least 1m", v)}
			}
			return nil
		},
	},
	{
		// PipelineSpec.RestartPolicy corev1.RestartPolicy, the Job Pod's
		// restart policy; a Job's Pod may only have OnFailure or Never.
		Path:  "spec.workflows.[].spec.restartPolicy",
		Added: "186e6794aec9d6b78abe88b63f7e9284fb2bd86a (PR #861, 2026-08-03)",
		Check: func(v any) []string {
			if v != string(corev1.RestartPolicyOnFailure) && v != string(corev1.RestartPolicyNever) {
				return []string{fmt.Sprintf("%v, want OnFailure or Never", v)}
			}
			return nil
		},
	},
}

// newer returns the entry of newerFields for path.
func newer(path string) newerField {
	for _, f := range newerFields {
		if f.Path == path {
			return f
		}
	}
	panic("no newer field " + path)
}

// stripNewerFields removes the fields of newerFields from a Promise,
// checking each against its upstream rules, so that the rest can be
// decoded strictly with the pinned types. A key of spec.workflows.config
// that upstream does not declare is reported here (the pin has no config
// at all, so the strict decode would only say "config"). It returns the
// fields found, as "path: value", and the pipeline namespace ("" if
// unset).
func stripNewerFields(promise map[string]any, r *promiseReport) (found []string, pipelineNamespace string) {
	// take removes parent[key], the field f at path.
	take := func(f newerField, path string, parent map[string]any, key string) (any, bool) {
		v, ok := parent[key]
		if !ok {
			return nil, false
		}
		delete(parent, key)
		found = append(found, fmt.Sprintf("%s: %v", path, v))
		for _, msg := range f.Check(v) {
			r.add("%s: %s", path, msg)
		}
		return v, true
	}

	spec, _ := promise["spec"].(map[string]any)
	workflows, _ := spec["workflows"].(map[string]any)
	if raw, ok := workflows["config"]; ok {
		config, isMap := raw.(map[string]any)
		if !isMap {
			r.add("spec.workflows.config: %v is not an object", raw)
			config = map[string]any{}
		}
		const ns, interval = "spec.workflows.config.pipelineNamespace", "spec.workflows.config.reconciliationInterval"
		if v, ok := take(newer(ns), ns, config, "pipelineNamespace"); ok {
			pipelineNamespace, _ = v.(string)
		}
		take(newer(interval), interval, config, "reconciliationInterval")
		unknown := slices.Sorted(func(yield func(string) bool) {
			for k := range config {
				if !yield(k) {
					return
				}
			}
		})
		for _, k := range unknown {
			r.add("spec.workflows.config.%s: unknown field (upstream WorkflowConfig at %.8s has pipelineNamespace and reconciliationInterval)", k, kratixUpstream)
		}
		delete(workflows, "config")
	}
	for _, typ := range []string{"resource", "promise"} {
		actions, _ := workflows[typ].(map[string]any)
		for _, action := range []string{"configure", "delete"} {
			list, _ := actions[action].([]any)
			for i, item := range list {
				pipeline, _ := item.(map[string]any)
				plSpec, _ := pipeline["spec"].(map[string]any)
				if plSpec == nil {
					continue
				}
				take(newer("spec.workflows.[].spec.restartPolicy"), fmt.Sprintf("spec.workflows.%s.%s[%d].spec.restartPolicy", typ, action, i), plSpec, "restartPolicy")
			}
		}
	}
	return found, pipelineNamespace
}
