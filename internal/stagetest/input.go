package stagetest

import (
	"context"
	"os"
	"os/exec"

	"github.com/promisekit/promisekit/pkg/kratix"
)

// RunInput runs action in dirs on input, the exact bytes of object.yaml,
// instead of the held object: for input no API server would store (a
// YAML alias bomb, two documents, a duplicate key), which the harness
// cannot hold as an object. The environment is the one RunIn gives the
// held object, as Kratix sets it from the live object. The held object is
// left as it is, whatever the outcome.
func (h *Harness) RunInput(ctx context.Context, action string, dirs kratix.Paths, input []byte) *Outcome {
	h.T.Helper()
	_, env := h.prepare(action, dirs)
	h.writeInput(dirs, input)
	out := &Outcome{Err: kratix.Run(ctx, h.Stage, h.Workflows, func(k string) string { return env[k] })}
	h.collect(out, dirs)
	if out.Err != nil {
		h.Leaks.Check(h.T, "the error", []byte(out.Err.Error()))
	}
	return out
}

// CommandInput is Command on input, the exact bytes of object.yaml,
// instead of the held object; see RunInput.
func (h *Harness) CommandInput(ctx context.Context, action string, dirs kratix.Paths, binary string, input []byte) *exec.Cmd {
	h.T.Helper()
	cmd := h.Command(ctx, action, dirs, binary)
	h.writeInput(dirs, input)
	return cmd
}

// writeInput replaces the input file prepare wrote.
func (h *Harness) writeInput(dirs kratix.Paths, input []byte) {
	h.T.Helper()
	if err := os.WriteFile(dirs.InputFile, input, 0o644); err != nil {
		h.T.Fatal(err)
	}
}
