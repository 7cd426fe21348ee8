package kratix

import (
	"strings"
	"testing"
)

func TestReadEnv(t *testing.T) {
	base := map[string]string{
		"KRATIX_WORKFLOW_ACTION": "configure", "KRATIX_WORKFLOW_TYPE": "resource",
		"KRATIX_PROMISE_NAME": "natsuser", "KRATIX_OBJECT_NAMESPACE": "team-a",
		"KRATIX_CLUSTER_SCOPED": "false",
	}
	tests := []struct {
		name    string
		change  map[string]string
		wantErr string
		check   func(t *testing.T, e Env)
	}{
		{name: "configure resource", check: func(t *testing.T, e Env) {
			if e.WorkflowAction != ActionConfigure || e.WorkflowType != TypeResource || e.PromiseName != "natsuser" || e.ObjectNamespace != "team-a" || e.ClusterScoped || e.DryRun {
				t.Errorf("got %+v", e)
			}
		}},
		{name: "dry run", change: map[string]string{"KRATIX_DRY_RUN": "true"}, check: func(t *testing.T, e Env) {
			if !e.DryRun {
				t.Error("DryRun not set")
			}
		}},
		{name: "no action", change: map[string]string{"KRATIX_WORKFLOW_ACTION": ""}, wantErr: "KRATIX_WORKFLOW_ACTION is not set"},
		{name: "bad action", change: map[string]string{"KRATIX_WORKFLOW_ACTION": "apply"}, wantErr: `unknown action "apply"`},
		{name: "bad type", change: map[string]string{"KRATIX_WORKFLOW_TYPE": "cluster"}, wantErr: `unknown type "cluster"`},
		{name: "bad bool", change: map[string]string{"KRATIX_CLUSTER_SCOPED": "yes"}, wantErr: "KRATIX_CLUSTER_SCOPED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tt.change {
				env[k] = v
			}
			e, err := ReadEnv(func(k string) string { return env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, e)
		})
	}
}

func TestReadPaths(t *testing.T) {
	p := ReadPaths(func(string) string { return "" })
	if p != (Paths{"/kratix/input/object.yaml", "/kratix/output", "/kratix/metadata"}) {
		t.Errorf("defaults = %+v", p)
	}
	over := map[string]string{"KRATIX_INPUT_FILE": "/tmp/in.yaml", "KRATIX_OUTPUT_DIR": "/tmp/out", "KRATIX_METADATA_DIR": "/tmp/meta"}
	p = ReadPaths(func(k string) string { return over[k] })
	if p != (Paths{"/tmp/in.yaml", "/tmp/out", "/tmp/meta"}) {
		t.Errorf("overrides = %+v", p)
	}
}
