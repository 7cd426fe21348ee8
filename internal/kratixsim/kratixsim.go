// Package kratixsim does what Kratix does around a pipeline stage, so that
// stages can be run and tested without a cluster: it derives the KRATIX_*
// environment from an object, marks the object Pending before a pipeline,
// merges the stage's status.yaml into the object's status with Kratix's
// semantics, and lays outputs out as Kratix's state store does.
//
// Every rule here mirrors a named piece of Kratix's code; the test/kratix
// module checks them against that code.
package kratixsim

import (
	"cmp"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Workflow names one run of one pipeline for one object.
type Workflow struct {
	Type     string // resource or promise
	Action   string // configure or delete
	Promise  string // the Promise's name
	Pipeline string // the pipeline's metadata.name
	Plural   string // the CRD's plural (KRATIX_CRD_PLURAL)
}

// Env returns the variables Kratix sets on a pipeline container
// (api/v1alpha1/pipeline_factory.go) for obj.
func Env(obj map[string]any, w Workflow) map[string]string {
	apiVersion, _ := obj["apiVersion"].(string)
	group, version := "", apiVersion
	if g, v, ok := strings.Cut(apiVersion, "/"); ok {
		group, version = g, v
	}
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	namespace, _ := meta["namespace"].(string)
	kind, _ := obj["kind"].(string)
	clusterScoped, plural := "false", w.Plural
	if w.Type == "promise" {
		// Pipeline.ForPromise: ClusterScoped true, CRDPlural "promises".
		kind, group, namespace, clusterScoped, plural = "Promise", "platform.kratix.io", "", "true", "promises"
	}
	return map[string]string{
		"KRATIX_WORKFLOW_ACTION":  w.Action,
		"KRATIX_WORKFLOW_TYPE":    w.Type,
		"KRATIX_PROMISE_NAME":     w.Promise,
		"KRATIX_PIPELINE_NAME":    w.Pipeline,
		"KRATIX_OBJECT_KIND":      kind,
		"KRATIX_OBJECT_GROUP":     group,
		"KRATIX_OBJECT_VERSION":   version,
		"KRATIX_OBJECT_NAME":      name,
		"KRATIX_OBJECT_NAMESPACE": namespace,
		"KRATIX_CRD_PLURAL":       plural,
		"KRATIX_CLUSTER_SCOPED":   clusterScoped,
	}
}

// SetPending sets status.message to "Pending", as Kratix does before the
// first pipeline of a workflow (lib/workflow/reconciler.go,
// setConfigureWorkflowCompletedConditionStatus): a stage never sees the
// message of the previous run, but a later pipeline of the same run sees the
// message an earlier one wrote.
func SetPending(obj map[string]any) {
	status, _ := obj["status"].(map[string]any)
	if status == nil {
		status = map[string]any{}
	}
	status["message"] = "Pending"
	obj["status"] = status
}

// ApplyStatus merges a stage's status.yaml into obj's status the way
// Kratix's status-writer does (work-creator/cmd/update_status.go). A
// missing file (nil) changes nothing; a top-level "kratix" key fails.
func ApplyStatus(obj map[string]any, statusYAML []byte) error {
	if statusYAML == nil {
		return nil
	}
	var incoming map[string]any
	if err := yaml.Unmarshal(statusYAML, &incoming); err != nil {
		return fmt.Errorf("status.yaml: %w", err)
	}
	if _, ok := incoming["kratix"]; ok {
		return fmt.Errorf("status.yaml: the kratix key is reserved")
	}
	existing, _ := obj["status"].(map[string]any)
	obj["status"] = MergeStatus(existing, incoming)
	return nil
}

// MergeStatus is Kratix's MergeStatuses (work-creator/lib/status_updater.go):
// shallow, each incoming top-level key replacing the old value whole, except
// that conditions merge by type. Kratix returns merged conditions in map
// order; they are sorted by type here so that runs are reproducible.
func MergeStatus(existing, incoming map[string]any) map[string]any {
	out := maps.Clone(existing)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range incoming {
		if k == "conditions" {
			old, ok1 := out[k].([]any)
			cur, ok2 := v.([]any)
			if ok1 && ok2 {
				out[k] = mergeConditions(old, cur)
				continue
			}
		}
		out[k] = v
	}
	return out
}

func mergeConditions(existing, incoming []any) []any {
	byType := map[string]any{}
	for _, list := range [][]any{existing, incoming} {
		for _, c := range list {
			if m, ok := c.(map[string]any); ok {
				if t, ok := m["type"].(string); ok {
					byType[t] = m
				}
			}
		}
	}
	out := make([]any, 0, len(byType))
	for _, t := range slices.Sorted(maps.Keys(byType)) {
		out = append(out, byType[t])
	}
	return out
}

// MarkCompleted does what Kratix does after the last configure pipeline
// (MarkAsCompleted): "Pending" becomes "Resource requested" and the
// ConfigureWorkflowCompleted condition is set. at is the condition's time.
func MarkCompleted(obj map[string]any, at string) {
	status, _ := obj["status"].(map[string]any)
	if status == nil {
		status = map[string]any{}
	}
	if status["message"] == "Pending" {
		status["message"] = "Resource requested"
	}
	cond := map[string]any{
		"type":               "ConfigureWorkflowCompleted",
		"status":             "True",
		"reason":             "PipelinesExecutedSuccessfully",
		"message":            "Pipelines completed",
		"lastTransitionTime": at,
	}
	old, _ := status["conditions"].([]any)
	status["conditions"] = mergeConditions(old, []any{cond})
	obj["status"] = status
}

// WorkDir is where Kratix's git/S3 writer puts one pipeline's output for a
// resource (nestedByMetadata, internal/controller/workplacement_controller.go
// getDir): <destination>/resources/<ns>/<promise>/<name>/<pipeline>/<id>,
// <id> being the first five hex digits of md5(directory), "." for the
// default group. A file of a selector directory keeps that directory in its
// path below <id> (Kratix's Workload.Filepath).
func WorkDir(destination, namespace, promise, name, pipeline, directory string) string {
	directory = filepath.Clean(cmp.Or(directory, "."))
	sum := md5.Sum([]byte(directory))
	return path.Join(destination, "resources", namespace, promise, name, pipeline, hex.EncodeToString(sum[:])[:5])
}

// ReadWorkflow reads from a Promise file the resource workflow Kratix would
// run for action: the Promise's name, its CRD's plural, and the name of the
// workflow's first pipeline.
func ReadWorkflow(promiseFile, action string) (Workflow, error) {
	data, err := os.ReadFile(promiseFile)
	if err != nil {
		return Workflow{}, err
	}
	type pipelines []struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	var p struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			API struct {
				Spec struct {
					Names struct {
						Plural string `json:"plural"`
					} `json:"names"`
				} `json:"spec"`
			} `json:"api"`
			Workflows struct {
				Resource map[string]pipelines `json:"resource"`
			} `json:"workflows"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &p); err != nil {
		return Workflow{}, fmt.Errorf("%s: %w", promiseFile, err)
	}
	pls := p.Spec.Workflows.Resource[action]
	if len(pls) == 0 {
		return Workflow{}, fmt.Errorf("%s: no resource %s pipeline", promiseFile, action)
	}
	return Workflow{
		Type: "resource", Action: action, Promise: p.Metadata.Name,
		Pipeline: pls[0].Metadata.Name, Plural: p.Spec.API.Spec.Names.Plural,
	}, nil
}

// DefaultReconciliationInterval is how long Kratix waits to re-run a
// request when its Promise sets no interval (internal/controller/shared.go).
const DefaultReconciliationInterval = 10 * time.Hour

// ReconciliationInterval reads from a Promise file how long Kratix waits
// after a run before it runs a request again: the annotation
// kratix.io/reconciliation-interval, which wins, else
// spec.workflows.config.reconciliationInterval, else Kratix's default
// (syntasso/kratix at ae170e22, api/v1alpha1/promiserevision_types.go;
// at least 1m).
func ReconciliationInterval(promiseFile string) (time.Duration, error) {
	data, err := os.ReadFile(promiseFile)
	if err != nil {
		return 0, err
	}
	var p struct {
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
		Spec struct {
			Workflows struct {
				Config struct {
					ReconciliationInterval string `json:"reconciliationInterval"`
				} `json:"config"`
			} `json:"workflows"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &p); err != nil {
		return 0, fmt.Errorf("%s: %w", promiseFile, err)
	}
	v := cmp.Or(p.Metadata.Annotations["kratix.io/reconciliation-interval"], p.Spec.Workflows.Config.ReconciliationInterval)
	if v == "" {
		return DefaultReconciliationInterval, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Minute {
		return 0, fmt.Errorf("%s: reconciliation interval %q is not a duration of at least 1m", promiseFile, v)
	}
	return d, nil
}

// SuspendedLabel is the label Kratix sets on an object whose workflow a
// pipeline suspended or asked to retry (api/v1alpha1 WorkflowSuspendedLabel,
// work-creator/cmd/update_status.go at ae170e22), and removes when the
// retry is due or the spec changes.
const SuspendedLabel = "kratix.io/workflow-suspended"

// SetSuspended sets or removes SuspendedLabel on obj.
func SetSuspended(obj map[string]any, suspended bool) {
	meta, _ := obj["metadata"].(map[string]any)
	if meta == nil {
		return
	}
	labels, _ := meta["labels"].(map[string]any)
	if !suspended {
		delete(labels, SuspendedLabel)
		if len(labels) == 0 {
			delete(meta, "labels")
		}
		return
	}
	if labels == nil {
		labels = map[string]any{}
		meta["labels"] = labels
	}
	labels[SuspendedLabel] = "true"
}
