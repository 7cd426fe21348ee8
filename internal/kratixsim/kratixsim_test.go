package kratixsim

import (
	"crypto/md5"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// upstreamMerge is Kratix's MergeStatuses (work-creator/lib/status_updater.go
// at syntasso/kratix 605d221cdabc: mergeRecursive + mergeConditions),
// transcribed here because that module cannot be built in this one. It is
// the oracle for MergeStatus, whose only intended difference is the order
// of merged conditions (Kratix: map order; here: sorted by type).
func upstreamMerge(existing, incoming map[string]any) map[string]any {
	result := make(map[string]any)
	for k, v := range existing {
		result[k] = v
	}
	for k, v := range incoming {
		if k == "conditions" {
			if ec, ok := result[k].([]any); ok {
				if ic, ok := v.([]any); ok {
					merged := make(map[string]any)
					for _, list := range [][]any{ec, ic} {
						for _, cond := range list {
							if m, ok := cond.(map[string]any); ok {
								if ty, ok := m["type"].(string); ok {
									merged[ty] = m
								}
							}
						}
					}
					out := make([]any, 0, len(merged))
					for _, item := range merged {
						out = append(out, item)
					}
					result[k] = out
					continue
				}
			}
		}
		result[k] = v
	}
	return result
}

// sortConditions orders a merged conditions list by type, so that the
// upstream result (in map order) can be compared.
func sortConditions(status map[string]any) map[string]any {
	out := maps.Clone(status)
	if cs, ok := out["conditions"].([]any); ok {
		cs = slices.Clone(cs)
		slices.SortStableFunc(cs, func(a, b any) int {
			return strings.Compare(condType(a), condType(b))
		})
		out["conditions"] = cs
	}
	return out
}

func condType(c any) string {
	m, _ := c.(map[string]any)
	s, _ := m["type"].(string)
	return s
}

func cond(typ, status string) map[string]any {
	return map[string]any{"type": typ, "status": status}
}

func TestMergeStatus(t *testing.T) {
	tests := []struct {
		name     string
		existing map[string]any
		incoming map[string]any
		want     map[string]any
	}{
		{
			name:     "nil existing",
			existing: nil,
			incoming: map[string]any{"a": "1"},
			want:     map[string]any{"a": "1"},
		},
		{
			name:     "nil incoming keeps everything",
			existing: map[string]any{"a": "1", "message": "Pending"},
			incoming: nil,
			want:     map[string]any{"a": "1", "message": "Pending"},
		},
		{
			name: "both nil",
			want: map[string]any{},
		},
		{
			name:     "other keys kept",
			existing: map[string]any{"a": "1", "b": "2", "message": "Pending"},
			incoming: map[string]any{"b": "3", "c": "4"},
			want:     map[string]any{"a": "1", "b": "3", "c": "4", "message": "Pending"},
		},
		{
			name:     "shallow: a nested map is replaced whole",
			existing: map[string]any{"state": map[string]any{"x": 1, "y": 2}},
			incoming: map[string]any{"state": map[string]any{"x": 3}},
			want:     map[string]any{"state": map[string]any{"x": 3}},
		},
		{
			name:     "shallow: a list is replaced whole",
			existing: map[string]any{"routes": []any{"a", "b"}},
			incoming: map[string]any{"routes": []any{"c"}},
			want:     map[string]any{"routes": []any{"c"}},
		},
		{
			name:     "null is stored, not a deletion",
			existing: map[string]any{"a": "1", "b": "2"},
			incoming: map[string]any{"a": nil},
			want:     map[string]any{"a": nil, "b": "2"},
		},
		{
			name:     "type change",
			existing: map[string]any{"a": map[string]any{"x": 1}},
			incoming: map[string]any{"a": "flat"},
			want:     map[string]any{"a": "flat"},
		},
		{
			name:     "conditions merged by type, sorted",
			existing: map[string]any{"conditions": []any{cond("Ready", "False"), cond("ConfigureWorkflowCompleted", "True")}},
			incoming: map[string]any{"conditions": []any{cond("Ready", "True"), cond("Available", "True")}},
			want: map[string]any{"conditions": []any{
				cond("Available", "True"), cond("ConfigureWorkflowCompleted", "True"), cond("Ready", "True"),
			}},
		},
		{
			name:     "duplicate incoming types: last wins",
			existing: map[string]any{"conditions": []any{}},
			incoming: map[string]any{"conditions": []any{cond("Ready", "False"), cond("Ready", "True")}},
			want:     map[string]any{"conditions": []any{cond("Ready", "True")}},
		},
		{
			name:     "untyped and non-map conditions dropped when merging",
			existing: map[string]any{"conditions": []any{cond("A", "True"), "junk", map[string]any{"status": "True"}}},
			incoming: map[string]any{"conditions": []any{map[string]any{"type": 7}, cond("B", "True")}},
			want:     map[string]any{"conditions": []any{cond("A", "True"), cond("B", "True")}},
		},
		{
			name:     "no existing conditions: incoming stored as is",
			existing: map[string]any{"a": "1"},
			incoming: map[string]any{"conditions": []any{cond("Z", "True"), "junk", cond("A", "True")}},
			want:     map[string]any{"a": "1", "conditions": []any{cond("Z", "True"), "junk", cond("A", "True")}},
		},
		{
			name:     "incoming conditions not a list replaces",
			existing: map[string]any{"conditions": []any{cond("A", "True")}},
			incoming: map[string]any{"conditions": "none"},
			want:     map[string]any{"conditions": "none"},
		},
		{
			name:     "existing conditions not a list is replaced",
			existing: map[string]any{"conditions": map[string]any{"A": true}},
			incoming: map[string]any{"conditions": []any{cond("B", "True")}},
			want:     map[string]any{"conditions": []any{cond("B", "True")}},
		},
		{
			name:     "null conditions replace",
			existing: map[string]any{"conditions": []any{cond("A", "True")}},
			incoming: map[string]any{"conditions": nil},
			want:     map[string]any{"conditions": nil},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := deepCopy(t, tc.existing)
			incomingBefore := deepCopy(t, tc.incoming)
			got := MergeStatus(tc.existing, tc.incoming)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("MergeStatus =\n%v\nwant\n%v", got, tc.want)
			}
			// Every case also against Kratix's code; merged conditions
			// (both sides lists) compared in sorted order.
			up := upstreamMerge(tc.existing, tc.incoming)
			_, ok1 := tc.existing["conditions"].([]any)
			_, ok2 := tc.incoming["conditions"].([]any)
			if ok1 && ok2 {
				up = sortConditions(up)
			}
			if !reflect.DeepEqual(got, up) {
				t.Errorf("differs from Kratix's MergeStatuses:\n%v\nKratix:\n%v", got, up)
			}
			if !reflect.DeepEqual(tc.existing, before) || !reflect.DeepEqual(tc.incoming, incomingBefore) {
				t.Error("MergeStatus modified its arguments")
			}
			// Determinism: the same inputs give the same output every time.
			for range 5 {
				if again := MergeStatus(tc.existing, tc.incoming); !reflect.DeepEqual(again, got) {
					t.Fatalf("second merge differs: %v", again)
				}
			}
		})
	}
}

func deepCopy(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	if m == nil {
		return nil
	}
	return copyValue(m).(map[string]any)
}

func copyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = copyValue(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = copyValue(e)
		}
		return out
	}
	return v
}

func TestApplyStatus(t *testing.T) {
	tests := []struct {
		name       string
		status     any // obj["status"] before; absent when nil
		file       []byte
		want       any // obj["status"] after; absent when nil
		wantErr    string
		wantAbsent bool
	}{
		{
			name:       "no file changes nothing",
			status:     nil,
			file:       nil,
			wantAbsent: true,
		},
		{
			name:   "no file keeps status",
			status: map[string]any{"message": "Pending"},
			file:   nil,
			want:   map[string]any{"message": "Pending"},
		},
		{
			name:   "empty file: status becomes an empty map, as Kratix's readStatusFile",
			status: nil,
			file:   []byte{},
			want:   map[string]any{},
		},
		{
			name:   "merged into existing",
			status: map[string]any{"message": "Pending", "state": map[string]any{"v": "1"}, "keep": "me"},
			file:   []byte("message: done\nstate:\n  w: '2'\ncleared: null\n"),
			want:   map[string]any{"message": "done", "state": map[string]any{"w": "2"}, "keep": "me", "cleared": nil},
		},
		{
			name:   "conditions merged",
			status: map[string]any{"conditions": []any{cond("B", "False")}},
			file:   []byte("conditions:\n- type: B\n  status: 'True'\n- type: A\n  status: 'True'\n"),
			want:   map[string]any{"conditions": []any{cond("A", "True"), cond("B", "True")}},
		},
		{
			name:    "kratix key refused",
			status:  map[string]any{"message": "Pending"},
			file:    []byte("message: hi\nkratix:\n  workflows: {}\n"),
			want:    map[string]any{"message": "Pending"},
			wantErr: "status.yaml: the kratix key is reserved",
		},
		{
			name:    "kratix key refused even when null",
			status:  map[string]any{"message": "Pending"},
			file:    []byte("kratix: null\n"),
			want:    map[string]any{"message": "Pending"},
			wantErr: "kratix key is reserved",
		},
		{
			name:    "invalid YAML",
			status:  map[string]any{"message": "Pending"},
			file:    []byte("a: [\n"),
			want:    map[string]any{"message": "Pending"},
			wantErr: "status.yaml:",
		},
		{
			name:    "not a map",
			status:  map[string]any{"message": "Pending"},
			file:    []byte("- a\n- b\n"),
			want:    map[string]any{"message": "Pending"},
			wantErr: "status.yaml:",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obj := map[string]any{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": map[string]any{"name": "w"}}
			if tc.status != nil {
				obj["status"] = tc.status
			}
			err := ApplyStatus(obj, tc.file)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatalf("ApplyStatus: %v", err)
			}
			got, present := obj["status"]
			if tc.wantAbsent {
				if present {
					t.Fatalf("status set to %v", got)
				}
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("status =\n%#v\nwant\n%#v", got, tc.want)
			}
		})
	}
}

func TestSetPending(t *testing.T) {
	for name, status := range map[string]any{
		"no status":        nil,
		"old message":      map[string]any{"message": "Resource requested", "keep": "x"},
		"status not a map": "weird",
	} {
		t.Run(name, func(t *testing.T) {
			obj := map[string]any{}
			if status != nil {
				obj["status"] = status
			}
			SetPending(obj)
			st, _ := obj["status"].(map[string]any)
			if st["message"] != "Pending" {
				t.Errorf("status %v", obj["status"])
			}
			if m, ok := status.(map[string]any); ok && st["keep"] != m["keep"] {
				t.Errorf("other keys lost: %v", st)
			}
		})
	}
}

// kratixCondition is what Kratix's MarkAsCompleted stores: a
// metav1.Condition round-tripped through sigs.k8s.io/yaml.
func kratixCondition(t *testing.T, at time.Time) map[string]any {
	t.Helper()
	y, err := yaml.Marshal(metav1.Condition{
		Message:            "Pipelines completed",
		LastTransitionTime: metav1.NewTime(at),
		Status:             metav1.ConditionTrue,
		Type:               "ConfigureWorkflowCompleted",
		Reason:             "PipelinesExecutedSuccessfully",
	})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(y, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMarkCompleted(t *testing.T) {
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	atS := at.Format(time.RFC3339)
	done := kratixCondition(t, at)
	if done["lastTransitionTime"] != atS {
		t.Fatalf("Kratix's condition time %v, want %s", done["lastTransitionTime"], atS)
	}
	tests := []struct {
		name   string
		status any
		want   map[string]any
	}{
		{
			name:   "no status",
			status: nil,
			want:   map[string]any{"conditions": []any{done}},
		},
		{
			name:   "Pending becomes Resource requested",
			status: map[string]any{"message": "Pending"},
			want:   map[string]any{"message": "Resource requested", "conditions": []any{done}},
		},
		{
			name:   "a stage's message is kept",
			status: map[string]any{"message": "Ready: 3 routes", "x": "y"},
			want:   map[string]any{"message": "Ready: 3 routes", "x": "y", "conditions": []any{done}},
		},
		{
			name: "existing condition replaced, others kept",
			status: map[string]any{"message": "Pending", "conditions": []any{
				cond("Ready", "True"),
				map[string]any{"type": "ConfigureWorkflowCompleted", "status": "False", "reason": "PipelinesInProgress"},
			}},
			want: map[string]any{"message": "Resource requested", "conditions": []any{done, cond("Ready", "True")}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obj := map[string]any{}
			if tc.status != nil {
				obj["status"] = tc.status
			}
			MarkCompleted(obj, atS)
			if !reflect.DeepEqual(obj["status"], tc.want) {
				t.Errorf("status =\n%#v\nwant\n%#v", obj["status"], tc.want)
			}
		})
	}
}

func TestWorkDir(t *testing.T) {
	// Kratix's ComputeHash: fmt.Sprintf("%x", md5.Sum([]byte(dir))).
	id := func(dir string) string { return fmt.Sprintf("%x", md5.Sum([]byte(dir)))[:5] }
	tests := []struct {
		dir, wantID string
	}{
		{".", "5058f"},
		{"", "5058f"},
		{"./", "5058f"},
		{"foo", "acbd1"},
		{"foo/", "acbd1"},
		{"./foo", "acbd1"},
		{"platform", id("platform")},
		{"dev-clusters", id("dev-clusters")},
	}
	for _, tc := range tests {
		t.Run(tc.dir, func(t *testing.T) {
			got := WorkDir("/state/dest", "team-a", "redis", "cache", "instance-configure", tc.dir)
			want := "/state/dest/resources/team-a/redis/cache/instance-configure/" + tc.wantID
			if got != want {
				t.Errorf("WorkDir(%q) = %s, want %s", tc.dir, got, want)
			}
		})
	}
	if got := WorkDir("dest", "ns", "p", "n", "pl", "."); got != "dest/resources/ns/p/n/pl/5058f" {
		t.Errorf("relative destination: %s", got)
	}
}

func TestEnv(t *testing.T) {
	resource := map[string]any{
		"apiVersion": "marketplace.kratix.io/v1alpha1",
		"kind":       "Redis",
		"metadata":   map[string]any{"name": "cache", "namespace": "team-a"},
	}
	promise := map[string]any{
		"apiVersion": "platform.kratix.io/v1alpha1",
		"kind":       "Promise",
		"metadata":   map[string]any{"name": "redis"},
	}
	core := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c", "namespace": "d"}}
	tests := []struct {
		name string
		obj  map[string]any
		w    Workflow
		want map[string]string
	}{
		{
			name: "resource configure",
			obj:  resource,
			w:    Workflow{Type: "resource", Action: "configure", Promise: "redis", Pipeline: "instance-configure", Plural: "redis"},
			want: map[string]string{
				"KRATIX_WORKFLOW_ACTION": "configure", "KRATIX_WORKFLOW_TYPE": "resource",
				"KRATIX_PROMISE_NAME": "redis", "KRATIX_PIPELINE_NAME": "instance-configure",
				"KRATIX_OBJECT_KIND": "Redis", "KRATIX_OBJECT_GROUP": "marketplace.kratix.io", "KRATIX_OBJECT_VERSION": "v1alpha1",
				"KRATIX_OBJECT_NAME": "cache", "KRATIX_OBJECT_NAMESPACE": "team-a",
				"KRATIX_CRD_PLURAL": "redis", "KRATIX_CLUSTER_SCOPED": "false",
			},
		},
		{
			name: "resource delete",
			obj:  resource,
			w:    Workflow{Type: "resource", Action: "delete", Promise: "redis", Pipeline: "instance-delete", Plural: "redis"},
			want: map[string]string{
				"KRATIX_WORKFLOW_ACTION": "delete", "KRATIX_WORKFLOW_TYPE": "resource",
				"KRATIX_PROMISE_NAME": "redis", "KRATIX_PIPELINE_NAME": "instance-delete",
				"KRATIX_OBJECT_KIND": "Redis", "KRATIX_OBJECT_GROUP": "marketplace.kratix.io", "KRATIX_OBJECT_VERSION": "v1alpha1",
				"KRATIX_OBJECT_NAME": "cache", "KRATIX_OBJECT_NAMESPACE": "team-a",
				"KRATIX_CRD_PLURAL": "redis", "KRATIX_CLUSTER_SCOPED": "false",
			},
		},
		{
			// Pipeline.ForPromise: ClusterScoped true, CRDPlural "promises",
			// no namespace, whatever the promise's own API is called.
			name: "promise configure",
			obj:  promise,
			w:    Workflow{Type: "promise", Action: "configure", Promise: "redis", Pipeline: "promise-configure", Plural: "redis"},
			want: map[string]string{
				"KRATIX_WORKFLOW_ACTION": "configure", "KRATIX_WORKFLOW_TYPE": "promise",
				"KRATIX_PROMISE_NAME": "redis", "KRATIX_PIPELINE_NAME": "promise-configure",
				"KRATIX_OBJECT_KIND": "Promise", "KRATIX_OBJECT_GROUP": "platform.kratix.io", "KRATIX_OBJECT_VERSION": "v1alpha1",
				"KRATIX_OBJECT_NAME": "redis", "KRATIX_OBJECT_NAMESPACE": "",
				"KRATIX_CRD_PLURAL": "promises", "KRATIX_CLUSTER_SCOPED": "true",
			},
		},
		{
			name: "core group",
			obj:  core,
			w:    Workflow{Type: "resource", Action: "configure", Promise: "p", Pipeline: "pl", Plural: "configmaps"},
			want: map[string]string{
				"KRATIX_WORKFLOW_ACTION": "configure", "KRATIX_WORKFLOW_TYPE": "resource",
				"KRATIX_PROMISE_NAME": "p", "KRATIX_PIPELINE_NAME": "pl",
				"KRATIX_OBJECT_KIND": "ConfigMap", "KRATIX_OBJECT_GROUP": "", "KRATIX_OBJECT_VERSION": "v1",
				"KRATIX_OBJECT_NAME": "c", "KRATIX_OBJECT_NAMESPACE": "d",
				"KRATIX_CRD_PLURAL": "configmaps", "KRATIX_CLUSTER_SCOPED": "false",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Env(tc.obj, tc.w); !reflect.DeepEqual(got, tc.want) {
				for _, k := range slices.Sorted(maps.Keys(tc.want)) {
					if got[k] != tc.want[k] {
						t.Errorf("%s = %q, want %q", k, got[k], tc.want[k])
					}
				}
				if len(got) != len(tc.want) {
					t.Errorf("%d variables, want %d: %v", len(got), len(tc.want), got)
				}
			}
		})
	}
}

func TestReadWorkflow(t *testing.T) {
	file := filepath.Join(t.TempDir(), "promise.yaml")
	promise := `apiVersion: platform.kratix.io/v1alpha1
kind: Promise
metadata: {name: natsuser}
spec:
  api: {spec: {names: {plural: natsusers}}}
  workflows:
    resource:
      configure: [{metadata: {name: create}}, {metadata: {name: second}}]
      delete: [{metadata: {name: remove}}]
`
	if err := os.WriteFile(file, []byte(promise), 0o644); err != nil {
		t.Fatal(err)
	}
	for action, want := range map[string]Workflow{
		"configure": {Type: "resource", Action: "configure", Promise: "natsuser", Pipeline: "create", Plural: "natsusers"},
		"delete":    {Type: "resource", Action: "delete", Promise: "natsuser", Pipeline: "remove", Plural: "natsusers"},
	} {
		got, err := ReadWorkflow(file, action)
		if err != nil || got != want {
			t.Errorf("ReadWorkflow(%s) = %+v, %v; want %+v", action, got, err, want)
		}
	}
	if _, err := ReadWorkflow(file, "upgrade"); err == nil {
		t.Error("a workflow the Promise lacks was found")
	}
}

func TestReconciliationInterval(t *testing.T) {
	tests := []struct {
		name, promise string
		want          time.Duration
		wantErr       bool
	}{
		{"Kratix's default", "spec: {}\n", DefaultReconciliationInterval, false},
		{"the field", "spec: {workflows: {config: {reconciliationInterval: 5m}}}\n", 5 * time.Minute, false},
		{"the annotation wins", "metadata: {annotations: {kratix.io/reconciliation-interval: 1h}}\nspec: {workflows: {config: {reconciliationInterval: 5m}}}\n", time.Hour, false},
		{"under a minute", "spec: {workflows: {config: {reconciliationInterval: 30s}}}\n", 0, true},
		{"not a duration", "spec: {workflows: {config: {reconciliationInterval: daily}}}\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "promise.yaml")
			if err := os.WriteFile(file, []byte(tt.promise), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := ReconciliationInterval(file)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ReconciliationInterval = %s, %v; want %s, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
