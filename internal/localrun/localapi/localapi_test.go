package localapi

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/promisekit/promisekit/pkg/platformapi"
)

// TestConnect: the binary works on the local runner's directory when the
// runner names one, whatever else is set, and otherwise on the cluster's API
// server, which outside a Pod is an error naming what is missing.
func TestConnect(t *testing.T) {
	dir := t.TempDir()
	r := platformapi.Resource{Group: "example.com", Version: "v1", Plural: "widgets"}
	file, err := platformapi.LocalPath(dir, r, "ns", "w")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: ns, uid: u1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	inPod := map[string]string{"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
	type testCase struct {
		name    string
		env     map[string]string
		wantDir bool
		wantErr string
	}
	tests := []testCase{
		{"local runner", map[string]string{Variable: dir}, true, ""},
		{"local runner in a Pod", map[string]string{Variable: dir, "KUBERNETES_SERVICE_HOST": inPod["KUBERNETES_SERVICE_HOST"], "KUBERNETES_SERVICE_PORT": inPod["KUBERNETES_SERVICE_PORT"]}, true, ""},
		{"neither", nil, false, "no platform API"},
		{"host without port", map[string]string{"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, false, "no platform API"},
		{"empty directory name", map[string]string{Variable: ""}, false, "no platform API"},
	}
	if _, err := os.Stat("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"); err != nil {
		tests = append(tests, testCase{"in a Pod without a service account", inPod, false, "service account's CA"})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api, err := Connect(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || api != nil {
					t.Fatalf("Connect = %v, %v; want no API and an error containing %q", api, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := api.(*platformapi.Dir); ok != tc.wantDir {
				t.Fatalf("Connect = %T, want the local directory: %t", api, tc.wantDir)
			}
			objs, err := api.List(context.Background(), r, "")
			if err != nil || len(objs) != 1 || objs[0].Metadata.UID != "u1" {
				t.Errorf("List: %d objects, %v; want the one in the directory", len(objs), err)
			}
		})
	}
}
