package localrun

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/promisekit/promisekit/internal/kratixsim"
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/stage"
	"github.com/promisekit/promisekit/pkg/state"
)

// The waiter stage, built on the skeleton: it waits for a file to exist
// (a condition that clears by itself), and refuses an empty greeting.
type waiterSpec struct {
	Greeting string `json:"greeting"`
	WaitFor  string `json:"waitFor,omitempty"`
}

type waiterConfig struct {
	stage.Kratix `json:"kratix,omitempty"`
}

type waiterPlan struct{ spec waiterSpec }

func (p waiterPlan) Act(context.Context, struct{}) (*kratix.Result, error) {
	if p.spec.WaitFor != "" {
		if _, err := os.Stat(p.spec.WaitFor); err != nil {
			return nil, kratix.Transient(fmt.Errorf("waiting for %s", filepath.Base(p.spec.WaitFor)))
		}
	}
	cm := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "greeting", "namespace": "team-a"},
		"data": map[string]any{"greeting": p.spec.Greeting}}
	return &kratix.Result{Message: "greeting " + p.spec.Greeting, Documents: []kratix.Document{{Object: cm}}}, nil
}

func waiterStage() kratix.Workflows {
	s := &stage.Stage[waiterSpec, waiterConfig, struct{}, struct{}]{
		API:    stage.API{APIVersion: "test.promisekit.dev/v1alpha1", Kind: "Counter"},
		Config: stage.ConfigFile[waiterConfig]{Default: func() *waiterConfig { return &waiterConfig{} }},
		State:  state.Codec[struct{}]{},
		Configure: func(in *stage.Input[waiterSpec, waiterConfig, struct{}]) (stage.Plan[struct{}], error) {
			if in.Spec.Greeting == "" {
				return nil, &kratix.FieldError{Field: "spec.greeting", Detail: "is required"}
			}
			return waiterPlan{in.Spec}, nil
		},
	}
	return s.Workflows()
}

// newWaiterFixture is the fixture with bin/counter running the waiter
// stage, on a Kratix that honours workflow control.
func newWaiterFixture(t *testing.T) (*fixture, map[string]string) {
	t.Helper()
	f := newFixture(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\nLOCALRUN_TEST_STAGE=waiter exec " + self + "\n"
	if err := os.WriteFile(filepath.Join(f.bin, "counter"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(f.dir, "config.yaml")
	if err := os.WriteFile(config, []byte("kratix: {workflowControl: true}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return f, map[string]string{kratix.ConfigVariable: config}
}

func (f *fixture) runWith(env map[string]string, request string, now time.Time) (*Outcome, error) {
	return Run(context.Background(), Options{
		PromiseFile: f.promise, RequestFile: request, StateStore: f.store, BinDir: f.bin, Now: now, Env: env,
		Destinations: []Destination{{Name: "worker-1", Labels: map[string]string{"environment": "dev"}}},
	})
}

func storedObject(t *testing.T, f *fixture, name string) map[string]any {
	t.Helper()
	obj, err := readYAML(filepath.Join(f.store, PlatformDir, "test.promisekit.dev/counters/team-a", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

// TestRefusedRequestSuspends: a request the stage refuses is suspended
// with its message in its status, and keeps its earlier output; a spec
// change resumes it.
func TestRefusedRequestSuspends(t *testing.T) {
	f, env := newWaiterFixture(t)
	req := f.request(t, "hello", "{greeting: hi}")
	if _, err := f.runWith(env, req, t0); err != nil {
		t.Fatal(err)
	}
	before := storeFiles(t, f.store)

	f.request(t, "hello", `{greeting: ""}`)
	out, err := f.runWith(env, req, t0.Add(time.Hour))
	if err != nil {
		t.Fatalf("a refused run failed the pipeline: %v", err)
	}
	if out.Control == nil || !out.Control.Suspend || out.Control.Message != "spec.greeting: is required" || len(out.Written) != 0 {
		t.Fatalf("outcome %+v, want a suspension with the field named and nothing written", out)
	}
	for k, v := range before {
		if !strings.Contains(k, PlatformDir) && storeFiles(t, f.store)[k] != v {
			t.Errorf("%s changed by a refused run", k)
		}
	}
	obj := storedObject(t, f, "hello")
	if msg := obj["status"].(map[string]any)["message"]; msg != "spec.greeting: is required" {
		t.Errorf("status.message %q, want the refusal", msg)
	}
	if labels, _ := obj["metadata"].(map[string]any)["labels"].(map[string]any); labels[kratixsim.SuspendedLabel] != "true" {
		t.Errorf("labels %v, want the request suspended", labels)
	}

	f.request(t, "hello", "{greeting: hello}")
	out, err = f.runWith(env, req, t0.Add(2*time.Hour))
	if err != nil || out.Control != nil || len(out.Written) == 0 {
		t.Fatalf("after the spec changed: %+v, %v", out, err)
	}
	if labels, _ := storedObject(t, f, "hello")["metadata"].(map[string]any)["labels"].(map[string]any); labels[kratixsim.SuspendedLabel] != nil {
		t.Errorf("still suspended after the spec changed: %v", labels)
	}
}

// TestTransientFailureRetries: a condition that clears by itself retries
// after a wait that grows per attempt and is capped, with nothing written
// and no failure; once it clears, the request converges and the count ends.
func TestTransientFailureRetries(t *testing.T) {
	f, env := newWaiterFixture(t)
	ready := filepath.Join(f.dir, "aggregator-ready")
	req := f.request(t, "hello", "{greeting: hi, waitFor: "+ready+"}")
	var waits []string
	now := t0
	for range 7 {
		out, err := f.runWith(env, req, now)
		if err != nil {
			t.Fatalf("a retry failed the pipeline: %v", err)
		}
		if out.Control == nil || out.Control.RetryAfter == "" || len(out.Written) != 0 {
			t.Fatalf("outcome %+v, want a retry and nothing written", out)
		}
		waits = append(waits, out.Control.RetryAfter)
		d, _ := time.ParseDuration(out.Control.RetryAfter)
		now = now.Add(d)
	}
	if got, want := strings.Join(waits, " "), "30s 1m0s 2m0s 4m0s 8m0s 10m0s 10m0s"; got != want {
		t.Errorf("waits %s, want %s", got, want)
	}
	status := storedObject(t, f, "hello")["status"].(map[string]any)
	if !strings.HasPrefix(fmt.Sprint(status["message"]), "waiting for aggregator-ready (attempt 7; next in 10m0s)") {
		t.Errorf("status.message %q", status["message"])
	}

	if err := os.WriteFile(ready, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := f.runWith(env, req, now)
	if err != nil || out.Control != nil || len(out.Written) != 1 {
		t.Fatalf("once ready: %+v, %v", out, err)
	}
	status = storedObject(t, f, "hello")["status"].(map[string]any)
	if retry, ok := status["retry"]; !ok || retry != nil {
		t.Errorf("status.retry %v, want null once the run went through", retry)
	}
	for _, c := range status["conditions"].([]any) {
		if c.(map[string]any)["status"] != "True" {
			t.Errorf("condition %v: a retry recorded a failure", c)
		}
	}
}

// TestWithoutWorkflowControl: on a Kratix that ignores the file, a refusal
// fails the pipeline, as before.
func TestWithoutWorkflowControl(t *testing.T) {
	f, _ := newWaiterFixture(t)
	req := f.request(t, "hello", `{greeting: ""}`)
	_, err := f.runWith(nil, req, t0)
	if err == nil || !strings.Contains(err.Error(), "spec.greeting: is required") {
		t.Fatalf("error %v, want the pipeline failed with the field named", err)
	}
}
