package environment

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/stagetest"
	"github.com/promisekit/promisekit/pkg/kratix"
)

// FuzzConfigure feeds arbitrary specs to the stage, without outside
// clients: it never panics, refuses with field errors, and whatever it
// accepts it can plan and encode.
func FuzzConfigure(f *testing.F) {
	for _, file := range []string{"examples/preview.yaml", "examples/development.yaml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var obj struct {
			Spec json.RawMessage `json:"spec"`
		}
		if err := yaml.Unmarshal(data, &obj); err != nil {
			f.Fatal(err)
		}
		f.Add(string(obj.Spec), "dev")
	}
	f.Add(`{"type":"preview","teamGroup":"g","ttl":"999999d"}`, "a")
	f.Add(`{"type":"development","teamGroup":"g","frontend":{"debug":"yes"}}`, "x-")
	f.Add(`{"type":"preview","teamGroup":"g","type":"development"}`, "dup")
	f.Fuzz(func(t *testing.T, spec, name string) {
		obj := &kratix.Object{
			APIVersion: "platform.promisekit.dev/v1alpha1", Kind: "Environment",
			Metadata: kratix.ObjectMeta{Name: name, Namespace: "default", UID: "u", CreationTimestamp: "2026-10-31T09:00:00Z"},
			Spec:     json.RawMessage(spec),
		}
		req := &kratix.Request{Object: obj, ConfigPath: stagetest.EmptyConfig(t), Getenv: func(string) string { return "" }}
		res, err := Workflows(Outside{}).ResourceConfigure(context.Background(), req)
		if err != nil {
			return
		}
		if res.Message == "" {
			t.Fatal("accepted without a message")
		}
		for _, d := range res.Documents {
			if _, err := json.Marshal(d.Object); err != nil {
				t.Fatalf("document does not encode: %v", err)
			}
		}
	})
}
