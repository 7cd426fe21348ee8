package outside

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/kratixsim"
	"github.com/promisekit/promisekit/internal/stagetest"
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/platformapi"
	"github.com/promisekit/promisekit/promises/environment"
)

var configureWorkflow = kratixsim.Workflow{Type: "resource", Promise: "environment", Pipeline: "configure", Plural: "environments"}

const expiringRequest = `apiVersion: platform.promisekit.dev/v1alpha1
kind: Environment
metadata: {name: checkout-preview, namespace: default, uid: uid-1, creationTimestamp: "2026-10-31T09:00:00Z"}
spec: {type: preview, teamGroup: team-checkout, ttl: 48h}
`

// TestExpiryThroughTheLocalRunner: under kratix-run (the platform API is
// the runner's directory of objects) an expired environment removes its
// request file, and leaves alone a newer request that took the name
// (another UID).
func TestExpiryThroughTheLocalRunner(t *testing.T) {
	tests := []struct {
		name     string
		storedID string
		wantGone bool
	}{
		{"same request", "uid-1", true},
		{"newer request of the same name", "uid-2", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			file, err := platformapi.LocalPath(dir, platformapi.Resource{Group: "platform.promisekit.dev", Plural: "environments"}, "default", "checkout-preview")
			if err != nil {
				t.Fatal(err)
			}
			var stored map[string]any
			if err := yaml.Unmarshal([]byte(expiringRequest), &stored); err != nil {
				t.Fatal(err)
			}
			stored["metadata"].(map[string]any)["uid"] = tt.storedID
			data, _ := yaml.Marshal(stored)
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}

			connect := func(func(string) string, ...platformapi.Option) (platformapi.API, error) {
				return platformapi.NewDir(dir), nil
			}
			h := stagetest.New(t, "environment", environment.Workflows(New(connect)), configureWorkflow, []byte(expiringRequest))
			h.Env[kratix.ConfigVariable] = ""
			h.Now = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC) // 48h after creation
			if o := h.Configure(context.Background()); o.Err != nil {
				t.Fatal(o.Err)
			}
			_, err = os.Stat(file)
			if gone := os.IsNotExist(err); gone != tt.wantGone {
				t.Errorf("request file gone = %t, want %t", gone, tt.wantGone)
			}
		})
	}
}

// TestDeleteRequestWith sends exactly one DELETE of the request's own URL to the
// API server, with the request's UID as precondition.
func TestDeleteRequestWith(t *testing.T) {
	var got []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var opts struct {
			Preconditions struct{ UID string } `json:"preconditions"`
		}
		json.NewDecoder(r.Body).Decode(&opts)
		got = append(got, r.Method+" "+r.URL.Path+" uid="+opts.Preconditions.UID)
		w.Write([]byte(`{"kind":"Status","status":"Success"}`))
	}))
	defer srv.Close()
	obj, err := kratix.ParseObject([]byte(expiringRequest))
	if err != nil {
		t.Fatal(err)
	}
	req := &kratix.Request{
		Env:    kratix.Env{ObjectGroup: "platform.promisekit.dev", ObjectVersion: "v1alpha1", CRDPlural: "environments"},
		Object: obj,
	}
	if err := deleteRequestWith(context.Background(), platformapi.NewServer(srv.URL, "token", srv.Client()), req); err != nil {
		t.Fatal(err)
	}
	want := "DELETE /apis/platform.promisekit.dev/v1alpha1/namespaces/default/environments/checkout-preview uid=uid-1"
	if len(got) != 1 || got[0] != want {
		t.Errorf("requests %q, want [%q]", got, want)
	}
}
