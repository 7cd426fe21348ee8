// Package stage is the skeleton every promise's pipeline stage follows.
//
// A stage is declared, not written out: a promise fills in a Stage (the API
// it serves, how its platform configuration is read, the codec of its
// state, the outside systems it may reach) and one Decide function per
// workflow. Every run of its workflows then takes the same steps, in the
// same order, for every promise:
//
//  1. kind: the object is of the Stage's apiVersion and kind;
//  2. namespace: a namespaced request has one;
//  3. config: the platform configuration file, strictly, over the defaults,
//     validated: it also says how a refusal is reported (Kratix);
//  4. spec: decoded strictly into the Spec type (unknown, duplicate and
//     mistyped fields fail, naming the field);
//  5. state: what the last run kept in the request's status;
//  6. decide: the workflow's Decide, a pure function of the above and the
//     clock, validates what depends on the configuration and returns a Plan;
//     then Stage.Bind refuses state that does not belong to the request;
//  7. outside: the Plan's Act makes the calls to outside systems, within
//     the run's deadline, through the Outside value main chose, and
//  8. result: returns the whole kratix.Result, which the writer checks and
//     writes.
//
// Nothing reaches an outside system before the spec and the configuration
// are valid, because the Outside value is handed only to Act. Decide has no
// context and no Outside: it cannot make a call.
//
// A run that fails after the configuration is read is reported the way the
// installed Kratix understands (Kratix, in the configuration): with
// workflow control, a refused request (a kratix.FieldError) is suspended
// with its one-line message, and a failure that clears by itself
// (kratix.TransientError, the run's deadline, a network timeout) is
// retried after a wait that doubles per attempt, counted in status.retry;
// the stage then exits 0 and Kratix keeps the earlier output. Without it,
// both fail the run, as a Kratix that ignores workflow-control.yaml needs.
//
// The steps are the places where behaviour shared by every promise lands
// once: binding state to the request (Stage.Bind), the whole-run deadline
// (Stage.Deadline), and finish, where passes over every result belong: it
// runs every document through the platform's overlays (overlay.go).
package stage

import (
	"context"
	"fmt"
	"time"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/overlays"
	"github.com/promisekit/promisekit/pkg/platformconfig"
	"github.com/promisekit/promisekit/pkg/state"
)

// API is the custom resource a stage serves.
type API struct {
	APIVersion string // group/version, as in the object's apiVersion
	Kind       string
	// ClusterScoped requests have no namespace; any other request must
	// have one.
	ClusterScoped bool
}

// Input is what a workflow decides from: the request, checked and decoded,
// the platform configuration and the state of the last run. Nothing in it
// came from an outside system.
type Input[Spec, Config, State any] struct {
	*kratix.Request
	// Namespace is the request's namespace ("" for a cluster-scoped API).
	Namespace string
	// Spec is the request's spec, decoded strictly. In a delete workflow a
	// spec that does not decode is no reason to leave outside resources
	// behind: Spec is then the zero value and SpecErr says why.
	Spec    Spec
	SpecErr error
	Config  *Config
	// State is what the last run stored; Found is false on the first run.
	State State
	Found bool

	// overlays is the platform's overlay set (step 3); nil for none.
	overlays *overlays.Set
}

// Plan is what Decide returns: every choice the run could make without
// asking an outside system, and how to carry it out.
type Plan[Outside any] interface {
	// Act makes the plan's outside calls through o, within ctx's
	// deadline, and returns the run's whole result. A plan that needs
	// no outside system ignores o.
	Act(ctx context.Context, o Outside) (*kratix.Result, error)
}

// Done is a Plan whose result is already known: Act returns it unchanged.
type Done[Outside any] struct{ Result *kratix.Result }

// Act returns the result.
func (d Done[Outside]) Act(context.Context, Outside) (*kratix.Result, error) {
	return d.Result, nil
}

// Decide is one workflow's decision: a pure function of its input (time
// included, as in.Now). It validates what depends on the configuration,
// with kratix.FieldErrors naming the request's fields.
type Decide[Spec, Config, State, Outside any] func(in *Input[Spec, Config, State]) (Plan[Outside], error)

// ConfigFile is how a stage reads its platform configuration: one YAML
// file (package platformconfig), decoded strictly over Default.
type ConfigFile[C any] struct {
	// Default returns the configuration a platform gets without a file.
	// It must be safe.
	Default func() *C
	// Validate checks the configuration after decoding, and may complete
	// what depends on what the file set. Errors name config.<field>.
	Validate func(*C) error
}

// Load reads the configuration file at path over the defaults and
// validates it. An empty path means platformconfig.DefaultPath, which may
// be absent (the Promise mounts it optionally); a path that was named
// explicitly must exist.
func (c ConfigFile[C]) Load(path string) (*C, error) {
	cfg := c.Default()
	path, err := platformconfig.Load(path, cfg)
	if err != nil {
		return nil, err
	}
	if c.Validate != nil {
		if err := c.Validate(cfg); err != nil {
			return nil, fmt.Errorf("platform configuration %s: %w", path, err)
		}
	}
	return cfg, nil
}

// Stage is one promise's stage for one API. Outside is what the stage
// reaches beyond its own object (a NATS account, AWS, the platform API);
// main chooses it, so that tests and the local runner choose theirs.
type Stage[Spec, Config, State, Outside any] struct {
	API    API
	Config ConfigFile[Config]
	// State loads what the last run kept. A stage that writes status but
	// never reads it back leaves State's Key empty: then nothing is
	// loaded, and status it does not read cannot fail a run.
	State state.Codec[State]
	// Bind, if set, refuses state that does not belong to the request:
	// a team can write any status into its own request, so state that
	// names an outside object is trusted only once bound to the request's
	// identity. It runs after Decide, so that a request's own mistakes
	// are reported first, and before anything reaches outside.
	Bind func(in *Input[Spec, Config, State]) error
	// Deadline bounds the whole run, from the configuration; 0: none.
	Deadline func(*Config) time.Duration
	// Overlays runs a pass of the platform's overlays (overlay.go): in
	// process (package overlays/pass) in a binary that links ytt anyway,
	// else overlays.Sibling. Nil refuses a platform that has overlays.
	Overlays overlays.Runner
	Outside  Outside
	// Configure and Delete are the resource workflows; Delete may be nil
	// when the stage has nothing outside to undo (Kratix removes the
	// manifests itself).
	Configure Decide[Spec, Config, State, Outside]
	Delete    Decide[Spec, Config, State, Outside]
}

// Workflows returns the stage's workflows for kratix.Main.
func (s *Stage[Spec, Config, State, Outside]) Workflows() kratix.Workflows {
	return kratix.Workflows{
		ResourceConfigure: s.workflow(s.Configure),
		ResourceDelete:    s.workflow(s.deleteDecision()),
	}
}

func (s *Stage[Spec, Config, State, Outside]) deleteDecision() Decide[Spec, Config, State, Outside] {
	if s.Delete == nil {
		return s.removed
	}
	return s.Delete
}

// Serves reports whether the stage serves obj's apiVersion and kind.
func (s *Stage[Spec, Config, State, Outside]) Serves(obj *kratix.Object) bool {
	return obj.APIVersion == s.API.APIVersion && obj.Kind == s.API.Kind
}

func (s *Stage[Spec, Config, State, Outside]) workflow(decide Decide[Spec, Config, State, Outside]) kratix.StageFunc {
	return func(ctx context.Context, req *kratix.Request) (*kratix.Result, error) {
		return s.run(ctx, req, decide)
	}
}

// Decide takes the steps up to the decision of req's workflow (configure
// unless req.Env says delete) and returns the plan, without acting on it.
func (s *Stage[Spec, Config, State, Outside]) Decide(req *kratix.Request) (Plan[Outside], error) {
	decide := s.Configure
	if req.Env.WorkflowAction == kratix.ActionDelete {
		decide = s.deleteDecision()
	}
	_, plan, err := s.decide(req, decide)
	return plan, err
}

// run takes the steps of the package comment, in order.
func (s *Stage[Spec, Config, State, Outside]) run(ctx context.Context, req *kratix.Request, decide Decide[Spec, Config, State, Outside]) (*kratix.Result, error) {
	in, plan, err := s.decide(req, decide)
	if err != nil {
		return failed(in, err)
	}
	if s.Deadline != nil {
		if d := s.Deadline(in.Config); d > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
	}
	res, err := plan.Act(ctx, s.Outside)
	if err != nil {
		return failed(in, err)
	}
	if res, err = finish(ctx, in.Request, s.Overlays, in.overlays, res); err != nil {
		return failed(in, err)
	}
	return res, nil
}

// decide takes steps 1 to 6, Bind included: nothing in them reaches
// outside.
func (s *Stage[Spec, Config, State, Outside]) decide(req *kratix.Request, decide Decide[Spec, Config, State, Outside]) (*Input[Spec, Config, State], Plan[Outside], error) {
	obj := req.Object
	if err := obj.CheckKind(s.API.APIVersion, s.API.Kind); err != nil {
		return nil, nil, err
	}
	in := &Input[Spec, Config, State]{Request: req}
	var err error
	if in.Namespace, err = s.namespace(req); err != nil {
		return nil, nil, err
	}
	if in.Config, err = s.Config.Load(req.ConfigPath); err != nil {
		return nil, nil, err
	}
	// Overlays pass over what a configure writes; a delete writes nothing,
	// and a broken overlay directory must not keep it from running.
	if req.Env.WorkflowAction == kratix.ActionConfigure {
		if in.overlays, err = loadOverlays(in.Config); err != nil {
			return nil, nil, fmt.Errorf("platform configuration: %w", err)
		}
	}
	if err := obj.DecodeSpec(&in.Spec); err != nil {
		if req.Env.WorkflowAction != kratix.ActionDelete {
			return in, nil, err
		}
		var zero Spec
		in.Spec, in.SpecErr = zero, err
	}
	if s.State.Key != "" {
		if in.State, in.Found, err = s.State.Load(obj); err != nil {
			return in, nil, err
		}
	}
	plan, err := decide(in)
	if err != nil {
		return in, nil, err
	}
	if s.Bind != nil && in.Found {
		if err := s.Bind(in); err != nil {
			return in, nil, err
		}
	}
	return in, plan, nil
}

// namespace returns the request's namespace: the object's own, as the API
// server stored it. Never the Pod's: with the Promise's pipelineNamespace
// the Pod runs in the platform's namespace, not the request's.
func (s *Stage[Spec, Config, State, Outside]) namespace(req *kratix.Request) (string, error) {
	if s.API.ClusterScoped {
		return "", nil
	}
	ns := req.Object.Metadata.Namespace
	if ns == "" {
		return "", fmt.Errorf("the request has no namespace: %s is a namespaced resource", s.API.Kind)
	}
	return ns, nil
}

// removed is the delete workflow of a stage that made nothing outside the
// state store: Kratix removes what the configure workflow wrote.
func (s *Stage[Spec, Config, State, Outside]) removed(in *Input[Spec, Config, State]) (Plan[Outside], error) {
	m := in.Object.Metadata
	name := m.Name
	if in.Namespace != "" {
		name = in.Namespace + "/" + name
	}
	return Done[Outside]{&kratix.Result{
		Message: fmt.Sprintf("%s %s deleted; Kratix removes its manifests from the destination", s.API.Kind, name),
	}}, nil
}

// finish is the last step of every run that succeeded, after the workflow
// returned its result and before the writer checks and writes it. It is
// where behaviour that every promise's output shares is added, once: the
// platform's overlays over every document, and the end of a run of
// retries. A document an overlay breaks is the platform's error, reported
// as a refusal (config.overlays), with the earlier output kept.
func finish(ctx context.Context, req *kratix.Request, run overlays.Runner, set *overlays.Set, res *kratix.Result) (*kratix.Result, error) {
	if res == nil {
		return nil, fmt.Errorf("stage returned no result")
	}
	if err := applyOverlays(ctx, run, set, req, res); err != nil {
		return nil, err
	}
	res.ClearStatus(req.Object, retryKey) // a run that goes through ends a count of retries
	return res, nil
}

// Kratix is what the installed Kratix honours. The platform declares it in
// each promise's configuration, under `kratix:`; every promise's Config
// embeds it.
type Kratix struct {
	// WorkflowControl is true when Kratix honours
	// /kratix/metadata/workflow-control.yaml (syntasso/kratix#733 and
	// #753, March 2026). Off by default: a Kratix without it would take a
	// run that exits 0 with no output for an empty output, and remove
	// what the request had.
	WorkflowControl bool `json:"workflowControl,omitempty"`
}

func (k Kratix) kratix() Kratix { return k }

// kratixConfig is a promise's Config that embeds Kratix.
type kratixConfig interface{ kratix() Kratix }

// Served is a Stage of any type parameters, for Kinds.
type Served interface {
	Serves(obj *kratix.Object) bool
	Workflows() kratix.Workflows
	api() API
}

func (s *Stage[Spec, Config, State, Outside]) api() API { return s.API }

// Kinds returns the workflows of a binary that serves several APIs (the
// apiaggregator binary serves ApiAggregator and ApiAggregatorTarget): each
// run goes to the stage that serves its object, and an object that none
// serves is refused before anything else, as a single stage refuses it.
func Kinds(stages ...Served) kratix.Workflows {
	pick := func(req *kratix.Request) (kratix.Workflows, error) {
		for _, s := range stages {
			if s.Serves(req.Object) {
				return s.Workflows(), nil
			}
		}
		kinds := make([]string, len(stages))
		for i, s := range stages {
			kinds[i] = s.api().Kind
		}
		apiVersion := stages[0].api().APIVersion
		return kratix.Workflows{}, req.Object.CheckKind(apiVersion, kinds...)
	}
	return kratix.Workflows{
		ResourceConfigure: func(ctx context.Context, req *kratix.Request) (*kratix.Result, error) {
			w, err := pick(req)
			if err != nil {
				return nil, err
			}
			return w.ResourceConfigure(ctx, req)
		},
		ResourceDelete: func(ctx context.Context, req *kratix.Request) (*kratix.Result, error) {
			w, err := pick(req)
			if err != nil {
				return nil, err
			}
			return w.ResourceDelete(ctx, req)
		},
	}
}
