package overlays

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/promisekit/promisekit/pkg/kratix"
)

// SiblingName is the binary that runs overlay passes for the stages that
// do not link ytt. It ships in their images beside /stage (a command
// under pipelines/<p>/), and make build puts it in bin/ beside them.
const SiblingName = "promisekit-overlays"

// request and response are what a stage and its sibling exchange, as JSON
// on the sibling's standard input and output.
type request struct {
	Set       *Set              `json:"set"`
	Values    Values            `json:"values"`
	Documents []json.RawMessage `json:"documents"`
}

type response struct {
	Documents []json.RawMessage `json:"documents"`
	// Refused is a refusal's one line (without the field), set instead of
	// Documents.
	Refused string `json:"refused,omitempty"`
}

// maxStderr bounds what of a failed sibling's standard error reaches the
// run's error, which workflow control copies into the request's status: a
// Go panic's goroutine dump is no message for a team.
const maxStderr = 512

// passedOn are the variables of the stage's container the sibling gets:
// the Go runtime's, which the platform may set for both. Nothing else of
// the stage's environment is the pass's business.
var passedOn = []string{"GOGC", "GOMEMLIMIT", "GOMAXPROCS", "GODEBUG"}

// Sibling is the Runner of a binary that does not link ytt: each pass
// starts SiblingName from the running binary's directory. The overlay
// files travel with the request, so the sibling reads nothing itself.
func Sibling() Runner {
	return func(ctx context.Context, set *Set, v Values, docs []json.RawMessage) ([]json.RawMessage, error) {
		self, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("running the platform's overlays: %w", err)
		}
		return Exec(filepath.Join(filepath.Dir(self), SiblingName))(ctx, set, v, docs)
	}
}

// Exec is the Runner that starts the binary at path, which serves one pass
// (Serve) and exits. The pass ends with ctx (the run's deadline).
func Exec(path string) Runner {
	return func(ctx context.Context, set *Set, v Values, docs []json.RawMessage) ([]json.RawMessage, error) {
		in, err := json.Marshal(request{Set: set, Values: v, Documents: docs})
		if err != nil {
			return nil, fmt.Errorf("running the platform's overlays: %w", err)
		}
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, path)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(in), &stdout, &stderr
		cmd.Env = []string{}
		for _, k := range passedOn {
			if val, ok := os.LookupEnv(k); ok {
				cmd.Env = append(cmd.Env, k+"="+val)
			}
		}
		if err := cmd.Run(); err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			} else if msg := firstLine(stderr.String()); msg != "" {
				err = fmt.Errorf("%w: %s", err, msg)
			}
			return nil, fmt.Errorf("running the platform's overlays with %s: %w", path, err)
		}
		var out response
		if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
			return nil, fmt.Errorf("reading %s's answer: %w", path, err)
		}
		switch {
		case out.Refused != "":
			return nil, &kratix.FieldError{Field: Field, Detail: out.Refused}
		case len(out.Documents) == 0 && len(docs) > 0:
			// A pass keeps every document of the stage; writing none would
			// make Kratix delete them all from the destination.
			return nil, fmt.Errorf("reading %s's answer: no documents", path)
		}
		return out.Documents, nil
	}
}

// firstLine is the first non-empty line of a sibling's standard error, at
// most maxStderr bytes.
func firstLine(s string) string {
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			if len(line) > maxStderr {
				line = line[:maxStderr] + "…"
			}
			return line
		}
	}
	return ""
}

// Serve answers one request read from r with run, on w: the documents, or
// a refusal. It returns run's other errors, for the sibling to report on
// its standard error.
func Serve(r io.Reader, w io.Writer, run Runner) error {
	var req request
	dec := json.NewDecoder(io.LimitReader(r, 64<<20)) // far above what Kratix can store of a run
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return fmt.Errorf("reading the request: %w", err)
	}
	if req.Set == nil {
		return errors.New("reading the request: no overlay set")
	}
	docs, err := run(context.Background(), req.Set, req.Values, req.Documents)
	var refused *kratix.FieldError
	switch {
	case errors.As(err, &refused) && refused.Field == Field:
		return json.NewEncoder(w).Encode(response{Refused: refused.Detail})
	case err != nil:
		return err
	}
	if docs == nil {
		docs = []json.RawMessage{}
	}
	return json.NewEncoder(w).Encode(response{Documents: docs})
}

// Main is the sibling binary's main: one pass with run, from standard
// input to standard output; on failure one line on standard error and
// exit status 1.
func Main(run Runner) {
	if err := Serve(os.Stdin, os.Stdout, run); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s\n", SiblingName, kratix.OneLine(err))
		os.Exit(1)
	}
}
