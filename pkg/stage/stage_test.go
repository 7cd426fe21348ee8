package stage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/state"
)

// The test promise: a Widget with a size, a configuration with a maximum
// size, and a state that counts runs.
type widgetSpec struct {
	Size int `json:"size"`
}

type widgetConfig struct {
	Kratix  `json:"kratix,omitempty"`
	MaxSize int    `json:"maxSize"`
	Timeout string `json:"timeout,omitempty"`
	// Fail makes Act fail: "transient" or "other".
	Fail string `json:"fail,omitempty"`
}

type widgetState struct {
	Runs int `json:"runs"`
}

// calls records what reached the outside world.
type calls struct{ n int }

type widgetPlan struct {
	size, runs int
	// wait makes Act wait for its context to end.
	wait bool
	fail string
}

func (p *widgetPlan) Act(ctx context.Context, o *calls) (*kratix.Result, error) {
	o.n++
	switch p.fail {
	case "transient":
		return nil, kratix.Transient(errors.New("the gadget service did not answer"))
	case "other":
		return nil, errors.New("the gadget service is misconfigured")
	}
	if p.wait {
		deadline, ok := ctx.Deadline()
		if !ok {
			return nil, errors.New("Act ran without a deadline")
		}
		<-ctx.Done()
		return nil, &deadlineError{deadline, ctx.Err()}
	}
	res := &kratix.Result{Message: "widget ready"}
	return res, widgetCodec.Store(res, widgetState{Runs: p.runs})
}

type deadlineError struct {
	deadline time.Time
	err      error
}

func (e *deadlineError) Error() string { return e.err.Error() }
func (e *deadlineError) Unwrap() error { return e.err }

var widgetCodec = state.Codec[widgetState]{Key: "widget", Version: 1}

func widgetStage(o *calls) *Stage[widgetSpec, widgetConfig, widgetState, *calls] {
	return &Stage[widgetSpec, widgetConfig, widgetState, *calls]{
		API: API{APIVersion: "test.promisekit.dev/v1", Kind: "Widget"},
		Config: ConfigFile[widgetConfig]{
			Default: func() *widgetConfig { return &widgetConfig{MaxSize: 10} },
			Validate: func(c *widgetConfig) error {
				if c.MaxSize < 1 {
					return &kratix.FieldError{Field: "config.maxSize", Detail: "must be positive"}
				}
				return nil
			},
		},
		State: widgetCodec,
		Deadline: func(c *widgetConfig) time.Duration {
			d, _ := time.ParseDuration(c.Timeout)
			return d
		},
		Outside: o,
		Configure: func(in *Input[widgetSpec, widgetConfig, widgetState]) (Plan[*calls], error) {
			if in.Spec.Size > in.Config.MaxSize {
				return nil, &kratix.FieldError{Field: "spec.size", Detail: "too large"}
			}
			return &widgetPlan{size: in.Spec.Size, runs: in.State.Runs + 1, wait: in.Config.Timeout != "", fail: in.Config.Fail}, nil
		},
		Delete: func(in *Input[widgetSpec, widgetConfig, widgetState]) (Plan[*calls], error) {
			if in.SpecErr != nil {
				return Done[*calls]{Result: &kratix.Result{Message: "deleted; spec was invalid: " + in.SpecErr.Error()}}, nil
			}
			return &widgetPlan{size: in.Spec.Size}, nil
		},
	}
}

func request(t *testing.T, action, object, config string) *kratix.Request {
	t.Helper()
	obj, err := kratix.ParseObject([]byte(object))
	if err != nil {
		t.Fatal(err)
	}
	req := &kratix.Request{
		Env:    kratix.Env{WorkflowAction: action, WorkflowType: kratix.TypeResource},
		Object: obj,
		Now:    time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		Getenv: func(string) string { return "" },
	}
	req.ConfigPath = filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(req.ConfigPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return req
}

const widget = "apiVersion: test.promisekit.dev/v1\nkind: Widget\nmetadata: {name: w, namespace: team-a}\n"

// TestNothingOutsideBeforeValid: every step that can refuse the request
// refuses it before the outside world is reached, and each refusal names
// what is wrong.
func TestNothingOutsideBeforeValid(t *testing.T) {
	tests := []struct {
		name, object, config string
		wantErr              string
	}{
		{"wrong kind", "apiVersion: test.promisekit.dev/v1\nkind: Gadget\nmetadata: {name: w, namespace: team-a}\n", "", `kind "Gadget" is not Widget`},
		{"no namespace", "apiVersion: test.promisekit.dev/v1\nkind: Widget\nmetadata: {name: w}\n", "", "the request has no namespace"},
		{"unknown spec field", widget + "spec: {size: 1, colour: red}\n", "", "spec.colour: unknown field"},
		{"spec of the wrong type", widget + "spec: {size: big}\n", "", "spec.size: must be an integer"},
		{"unknown config field", widget + "spec: {size: 1}\n", "maxSiz: 3\n", "config.maxSiz: unknown field"},
		{"invalid config", widget + "spec: {size: 1}\n", "maxSize: 0\n", "config.maxSize: must be positive"},
		{"state of a newer release", widget + "spec: {size: 1}\nstatus: {widget: {schemaVersion: 2, runs: 1}}\n", "", "status.widget: schema version 2"},
		{"refused by decide", widget + "spec: {size: 11}\n", "", "spec.size: too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &calls{}
			_, err := widgetStage(o).Workflows().ResourceConfigure(context.Background(), request(t, kratix.ActionConfigure, tt.object, tt.config))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			if o.n != 0 {
				t.Errorf("the outside world was reached %d times before the request was valid", o.n)
			}
		})
	}
}

func TestConfigure(t *testing.T) {
	o := &calls{}
	res, err := widgetStage(o).Workflows().ResourceConfigure(context.Background(),
		request(t, kratix.ActionConfigure, widget+"spec: {size: 3}\nstatus: {widget: {schemaVersion: 1, runs: 4}}\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	if o.n != 1 || res.Message != "widget ready" || fmt.Sprint(res.Status["widget"].(map[string]any)["runs"]) != "5" {
		t.Errorf("calls %d, result %+v", o.n, res)
	}
}

// TestDeleteWithInvalidSpec: a spec that no longer decodes does not stop
// a delete, which must clean up what earlier runs made.
func TestDeleteWithInvalidSpec(t *testing.T) {
	res, err := widgetStage(&calls{}).Workflows().ResourceDelete(context.Background(),
		request(t, kratix.ActionDelete, widget+"spec: {size: big}\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Message, "spec.size: must be an integer") {
		t.Errorf("message %q", res.Message)
	}
}

// TestDeadline: Act runs under the deadline the configuration sets.
func TestDeadline(t *testing.T) {
	req := request(t, kratix.ActionConfigure, widget+"spec: {size: 1}\n", "timeout: 1ms\n")
	before := time.Now()
	_, err := widgetStage(&calls{}).Workflows().ResourceConfigure(context.Background(), req)
	var de *deadlineError
	if !errors.As(err, &de) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want the run's deadline to end Act", err)
	}
	if de.deadline.After(before.Add(time.Second)) {
		t.Errorf("deadline %s is not the configured 1ms after the run started (%s)", de.deadline, before)
	}
}

// TestDecideIsPure: the same input gives the same plan, every time.
func TestDecideIsPure(t *testing.T) {
	s := widgetStage(&calls{})
	req := request(t, kratix.ActionConfigure, widget+"spec: {size: 3}\nstatus: {widget: {schemaVersion: 1, runs: 1}}\n", "maxSize: 5\n")
	first, err := s.Decide(req)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		again, err := s.Decide(req)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(first, again) {
			t.Fatalf("plans differ: %+v and %+v", first, again)
		}
	}
}

// TestKinds: a binary serving two kinds sends each object to its stage and
// refuses any other kind.
func TestKinds(t *testing.T) {
	widgets, gadgets := &calls{}, &calls{}
	gadget := widgetStage(gadgets)
	gadget.API.Kind = "Gadget"
	w := Kinds(widgetStage(widgets), gadget)
	ctx := context.Background()
	if _, err := w.ResourceConfigure(ctx, request(t, kratix.ActionConfigure, widget+"spec: {size: 1}\n", "")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.ResourceConfigure(ctx, request(t, kratix.ActionConfigure, strings.Replace(widget, "Widget", "Gadget", 1)+"spec: {size: 1}\n", "")); err != nil {
		t.Fatal(err)
	}
	if widgets.n != 1 || gadgets.n != 1 {
		t.Errorf("widgets %d, gadgets %d calls; want 1 each", widgets.n, gadgets.n)
	}
	_, err := w.ResourceDelete(ctx, request(t, kratix.ActionDelete, strings.Replace(widget, "Widget", "Gizmo", 1), ""))
	if err == nil || !strings.Contains(err.Error(), `kind "Gizmo" is neither Widget nor Gadget`) {
		t.Errorf("error %v", err)
	}
}

// TestBind: state that does not belong to the request stops the run
// before anything is decided or reached.
func TestBind(t *testing.T) {
	o := &calls{}
	s := widgetStage(o)
	s.Bind = func(in *Input[widgetSpec, widgetConfig, widgetState]) error {
		if in.State.Runs > 100 {
			return errors.New("status.widget: not this request's state")
		}
		return nil
	}
	_, err := s.Workflows().ResourceConfigure(context.Background(),
		request(t, kratix.ActionConfigure, widget+"spec: {size: 3}\nstatus: {widget: {schemaVersion: 1, runs: 101}}\n", ""))
	if err == nil || !strings.Contains(err.Error(), "not this request's state") || o.n != 0 {
		t.Fatalf("error %v, %d outside calls", err, o.n)
	}
	if _, err := s.Workflows().ResourceConfigure(context.Background(),
		request(t, kratix.ActionConfigure, widget+"spec: {size: 3}\nstatus: {widget: {schemaVersion: 1, runs: 1}}\n", "")); err != nil {
		t.Fatal(err)
	}
}

// TestStateless: a stage that reads no state is not failed by status it
// would not read.
func TestStateless(t *testing.T) {
	s := widgetStage(&calls{})
	s.State = state.Codec[widgetState]{}
	res, err := s.Workflows().ResourceConfigure(context.Background(),
		request(t, kratix.ActionConfigure, widget+"spec: {size: 3}\nstatus: {widget: {schemaVersion: 9, runs: 1}}\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(res.Status["widget"].(map[string]any)["runs"]); got != "1" {
		t.Errorf("runs = %s, want 1: no state was loaded", got)
	}
}

// TestNamespaceFromTheObject: the request's namespace is the object's,
// never the environment's: with a pipeline namespace, the Pod runs in the
// platform's namespace.
func TestNamespaceFromTheObject(t *testing.T) {
	req := request(t, kratix.ActionConfigure, "apiVersion: test.promisekit.dev/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 1}\n", "")
	req.Env.ObjectNamespace = "team-a"
	o := &calls{}
	_, err := widgetStage(o).Workflows().ResourceConfigure(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), "the request has no namespace") || o.n != 0 {
		t.Fatalf("error %v, %d outside calls", err, o.n)
	}
}

// TestDefaultDelete: a stage without a delete decision only says so.
func TestDefaultDelete(t *testing.T) {
	s := widgetStage(&calls{})
	s.Delete = nil
	res, err := s.Workflows().ResourceDelete(context.Background(), request(t, kratix.ActionDelete, widget, ""))
	if err != nil {
		t.Fatal(err)
	}
	if want := "Widget team-a/w deleted; Kratix removes its manifests from the destination"; res.Message != want {
		t.Errorf("message %q, want %q", res.Message, want)
	}
}
