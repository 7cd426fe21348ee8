package stagetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/nats-io/nkeys"

	"github.com/promisekit/promisekit/internal/kratixsim"
	"github.com/promisekit/promisekit/pkg/kratix"
)

// recorder is a testing.TB that keeps its failures instead of failing.
type recorder struct {
	testing.TB
	failures []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

// TestEveryRunIsScannedForLeaks: a secret in a stage's output, status or
// error fails the test that ran it, although that test looks for none.
func TestEveryRunIsScannedForLeaks(t *testing.T) {
	user, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, err := user.Seed()
	if err != nil {
		t.Fatal(err)
	}
	const token = "generated-test-password-5f1c"
	configMap := func(data map[string]string) kratix.Document {
		return kratix.Document{Object: map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": "out", "namespace": "default"},
			"data":     data,
		}}
	}
	tests := []struct {
		name  string
		stage kratix.StageFunc
		leaks bool
	}{
		{"clean", func(context.Context, *kratix.Request) (*kratix.Result, error) {
			return &kratix.Result{Message: "ok", Documents: []kratix.Document{configMap(map[string]string{"a": "b"})}}, nil
		}, false},
		{"seed in a manifest", func(context.Context, *kratix.Request) (*kratix.Result, error) {
			return &kratix.Result{Message: "ok", Documents: []kratix.Document{configMap(map[string]string{"seed": string(seed)})}}, nil
		}, true},
		{"known value in the status", func(context.Context, *kratix.Request) (*kratix.Result, error) {
			res := &kratix.Result{Message: "ok"}
			res.SetStatus("password", token)
			return res, nil
		}, true},
		{"seed in the error", func(context.Context, *kratix.Request) (*kratix.Result, error) {
			return nil, errors.New("creating user: " + string(seed))
		}, true},
	}
	wf := kratixsim.Workflow{Type: "resource", Promise: "p", Pipeline: "configure", Plural: "things"}
	object := []byte("apiVersion: example.com/v1\nkind: Thing\nmetadata: {name: a, namespace: default}\nspec: {}\n")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			h := New(r, "stage", kratix.Workflows{ResourceConfigure: tt.stage}, wf, object)
			h.Leaks.Known["test password"] = []byte(token)
			h.Configure(context.Background())
			leaked := len(r.failures) > 0 && strings.Contains(strings.Join(r.failures, "\n"), "secret leaked")
			if leaked != tt.leaks {
				t.Errorf("leak reported = %t, want %t (failures %q)", leaked, tt.leaks, r.failures)
			}
			for _, f := range r.failures {
				if strings.Contains(f, string(seed)) || strings.Contains(f, token) {
					t.Error("a failure message quotes the secret")
				}
			}
		})
	}
}
