package overlays

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/promisekit/promisekit/pkg/kratix"
)

// sibling writes a shell script that stands in for the promisekit-overlays
// binary: Exec's side of the exchange is what is under test here; the
// real binary's is tested in pipelines/natsuser (TestBinary).
func sibling(t *testing.T, script string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), SiblingName)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

var (
	testSet  = &Set{Dir: "/etc/promisekit-overlays", Files: []File{{Name: "10-labels.yml", Data: []byte("#! labels\n")}}}
	testDocs = []json.RawMessage{json.RawMessage(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"v"}}`)}
)

func TestExec(t *testing.T) {
	tests := []struct {
		name    string
		script  string
		want    string // the documents, as JSON
		wantErr string
		refused bool // the error is the platform's: a FieldError of Field
	}{
		{
			name:   "the documents it answers",
			script: `cat >/dev/null; echo '{"documents":[{"kind":"ConfigMap","metadata":{"name":"v","labels":{"a":"b"}}}]}'`,
			want:   `[{"kind":"ConfigMap","metadata":{"name":"v","labels":{"a":"b"}}}]`,
		},
		{
			name:    "a refusal is the platform's, with its file and line",
			script:  `cat >/dev/null; echo '{"refused":"10-labels.yml:3: writes Secret \"x\" in plain text"}'`,
			wantErr: `config.overlays: 10-labels.yml:3: writes Secret "x" in plain text`,
			refused: true,
		},
		{
			name:    "no documents for documents is an error, never an empty output",
			script:  `cat >/dev/null; echo '{"documents":[]}'`,
			wantErr: "no documents",
		},
		{
			name:    "an empty answer too",
			script:  `cat >/dev/null; echo '{}'`,
			wantErr: "no documents",
		},
		{
			name:    "an answer that is not JSON",
			script:  `cat >/dev/null; echo 'panic: half'`,
			wantErr: "'s answer: invalid character",
		},
		{
			name:    "a crash: its first line, not its goroutine dump",
			script:  `cat >/dev/null; printf '\npanic: boom\n\ngoroutine 1 [running]:\nmain.main()\n' >&2; exit 2`,
			wantErr: "exit status 2: panic: boom",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := Exec(sibling(t, tt.script))(t.Context(), testSet, Values{Promise: "p"}, testDocs)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				got, _ := json.Marshal(docs)
				if string(got) != tt.want {
					t.Errorf("documents %s, want %s", got, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(kratix.OneLine(err), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			var fe *kratix.FieldError
			if isField := errors.As(err, &fe) && fe.Field == Field; isField != tt.refused {
				t.Errorf("refused by the platform's overlays: %v, want %v (%v)", isField, tt.refused, err)
			}
			if strings.Contains(err.Error(), "main.main") {
				t.Errorf("the sibling's dump reached the error: %v", err)
			}
		})
	}
}

// TestExecRequest: the request carries the set, the values and the
// documents, and the sibling sees no other variable than the runtime's.
func TestExecRequest(t *testing.T) {
	t.Setenv("GOGC", "77")
	t.Setenv("PROMISEKIT_TEST_SECRET", "not for the sibling")
	dir := t.TempDir()
	path := sibling(t, `cat >'`+dir+`/request'; env >'`+dir+`/env'; echo '{"documents":[{}]}'`)
	if _, err := Exec(path)(t.Context(), testSet, Values{Promise: "p", Destination: "eu"}, testDocs); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "request"))
	if err != nil {
		t.Fatal(err)
	}
	var got request
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if got.Set.Dir != testSet.Dir || len(got.Set.Files) != 1 || !bytes.Equal(got.Set.Files[0].Data, testSet.Files[0].Data) ||
		got.Values.Promise != "p" || got.Values.Destination != "eu" || len(got.Documents) != 1 {
		t.Errorf("request %s", data)
	}
	env, err := os.ReadFile(filepath.Join(dir, "env"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(env), "GOGC=77\n") || strings.Contains(string(env), "PROMISEKIT_TEST_SECRET") {
		t.Errorf("the sibling's environment:\n%s\nwant GOGC and nothing of the stage's own", env)
	}
}

// TestExecDeadline: a pass that outlives the run's deadline is stopped,
// and the error is the deadline's, which a stage retries.
func TestExecDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Exec(sibling(t, "exec sleep 30\n"))(ctx, testSet, Values{}, testDocs)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want the deadline", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("the sibling ran on after the deadline")
	}
}

// TestExecMissing: a stage whose image lacks the sibling fails its run;
// that is a packaging fault, not the platform's overlays.
func TestExecMissing(t *testing.T) {
	_, err := Exec(filepath.Join(t.TempDir(), SiblingName))(t.Context(), testSet, Values{}, testDocs)
	var fe *kratix.FieldError
	if err == nil || errors.As(err, &fe) {
		t.Errorf("error %v, want a plain error", err)
	}
}

// TestServe: the sibling's side, with a runner standing in for the pass:
// documents, a refusal, another error, and a request it does not know.
func TestServe(t *testing.T) {
	in, _ := json.Marshal(request{Set: testSet, Values: Values{Promise: "p"}, Documents: testDocs})
	echo := func(_ context.Context, _ *Set, _ Values, docs []json.RawMessage) ([]json.RawMessage, error) {
		return docs, nil
	}
	var out bytes.Buffer
	if err := Serve(bytes.NewReader(in), &out, echo); err != nil {
		t.Fatal(err)
	}
	if want := `{"documents":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"v"}}]}`; strings.TrimSpace(out.String()) != want {
		t.Errorf("answer %s, want %s", out.String(), want)
	}
	refuse := func(context.Context, *Set, Values, []json.RawMessage) ([]json.RawMessage, error) {
		return nil, &kratix.FieldError{Field: Field, Detail: "a.yml:1: no"}
	}
	out.Reset()
	if err := Serve(bytes.NewReader(in), &out, refuse); err != nil {
		t.Fatal(err)
	}
	if want := `{"documents":null,"refused":"a.yml:1: no"}`; strings.TrimSpace(out.String()) != want {
		t.Errorf("answer %s, want %s", out.String(), want)
	}
	fail := func(context.Context, *Set, Values, []json.RawMessage) ([]json.RawMessage, error) {
		return nil, errors.New("out of memory")
	}
	if err := Serve(bytes.NewReader(in), &out, fail); err == nil || err.Error() != "out of memory" {
		t.Errorf("Serve = %v, want the runner's own error", err)
	}
	if err := Serve(strings.NewReader(`{"set":{},"extra":1}`), &out, echo); err == nil {
		t.Error("a request with an unknown field was served")
	}
}
