package kratix

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
)

// StageFunc runs one workflow of a stage. It returns the whole result or an
// error; it writes nothing itself.
type StageFunc func(ctx context.Context, req *Request) (*Result, error)

// Request is what a stage function is given.
type Request struct {
	Env    Env
	Object *Object
	// Now is the time of this run. Stages take time from here, never from
	// time.Now, so that tests and the local runner can move the clock.
	Now time.Time
	// ConfigPath names the platform configuration file; "" is the
	// default path, which may be absent (see package platformconfig).
	ConfigPath string
	// Getenv reads the container's environment, for the clients of
	// outside systems that take their settings from it under their own
	// names (the AWS SDK's AWS_*, the Pod's KUBERNETES_SERVICE_*).
	// Settings of our own come from the configuration file.
	Getenv func(string) string
}

// Workflows are the stage functions of one binary. A workflow left nil is an
// error if Kratix runs it: the Promise points the binary at the wrong place.
type Workflows struct {
	ResourceConfigure StageFunc
	ResourceDelete    StageFunc
	PromiseConfigure  StageFunc
	PromiseDelete     StageFunc
}

func (w Workflows) pick(env Env) StageFunc {
	switch {
	case env.WorkflowType == TypeResource && env.WorkflowAction == ActionConfigure:
		return w.ResourceConfigure
	case env.WorkflowType == TypeResource && env.WorkflowAction == ActionDelete:
		return w.ResourceDelete
	case env.WorkflowType == TypePromise && env.WorkflowAction == ActionConfigure:
		return w.PromiseConfigure
	case env.WorkflowType == TypePromise && env.WorkflowAction == ActionDelete:
		return w.PromiseDelete
	}
	return nil
}

// The variables Run reads besides Kratix's own. Kratix sets neither.
const (
	// ConfigVariable names the platform configuration file, when it is not
	// at the default path.
	ConfigVariable = "PROMISEKIT_CONFIG"
	// NowVariable overrides the clock of a run (RFC 3339): the local
	// runner sets it, to show what a later scheduled re-run does.
	NowVariable = "PROMISEKIT_NOW"
)

// Run runs one stage the way Kratix does: read the environment and the input
// object, call the workflow's function, write its result. stage names the
// binary in messages and in its record of written files.
func Run(ctx context.Context, stage string, w Workflows, getenv func(string) string) error {
	env, err := ReadEnv(getenv)
	if err != nil {
		return err
	}
	fn := w.pick(env)
	if fn == nil {
		return fmt.Errorf("this stage has no %s %s workflow", env.WorkflowType, env.WorkflowAction)
	}
	now := time.Now().UTC()
	if v := getenv(NowVariable); v != "" {
		if now, err = time.Parse(time.RFC3339, v); err != nil {
			return fmt.Errorf("%s: %w", NowVariable, err)
		}
	}
	paths := ReadPaths(getenv)
	obj, err := ReadObject(paths.InputFile)
	if err != nil {
		return err
	}
	res, err := fn(ctx, &Request{Env: env, Object: obj, Now: now, ConfigPath: getenv(ConfigVariable), Getenv: getenv})
	if err != nil {
		return err
	}
	if res == nil {
		return errors.New("stage returned no result")
	}
	return Write(paths, env, stage, res)
}

// Version is the release of the stage binary, stamped by the build
// (-ldflags "-X github.com/promisekit/promisekit/pkg/kratix.Version=…").
var Version = "dev"

// Main is a stage binary's main: it runs the stage with the process's
// environment, and on failure prints one line to stderr and exits 1, which
// makes Kratix keep the previous output and retry.
func Main(stage string, w Workflows) {
	if len(os.Args) == 2 && os.Args[1] == "version" {
		fmt.Println(stage, Version)
		return
	}
	collectLate(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Run(ctx, stage, w, os.Getenv)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s\n", stage, OneLine(err))
		os.Exit(1)
	}
}

// stageHeapLimit is the heap size at which a stage starts to collect
// garbage. Stages on ordinary requests allocate a few MiB (a 128-path
// target, ytt render included, about 19 MiB) and stay below it; an
// outsized request is collected as usual around it, far below the 256 MiB
// Kratix gives a pipeline container.
const stageHeapLimit = 24 << 20

// collectLate turns garbage collection off below stageHeapLimit, unless the
// Pod's environment sets GOGC or GOMEMLIMIT. A stage lives for
// milliseconds and then returns all its memory at once; a collection cycle
// in between costs it time and frees nothing it needs (one cycle and its
// write barriers were about 18% of the instructions of a target's ytt
// render, measured with callgrind).
func collectLate(getenv func(string) string) {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(stageHeapLimit)
	debug.SetGCPercent(-1)
}

// OneLine folds a multi-line error (ytt's, errors.Join's) onto one line:
// Kratix shows the last line of a failed container, and log collectors split
// on newlines.
func OneLine(err error) string {
	fields := strings.FieldsFunc(err.Error(), func(r rune) bool { return r == '\n' || r == '\r' })
	parts := fields[:0]
	for _, f := range fields {
		if f = strings.TrimSpace(f); f != "" {
			parts = append(parts, f)
		}
	}
	return strings.Join(parts, "; ")
}
