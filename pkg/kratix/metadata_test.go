package kratix

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeEarlier writes what an earlier container of the pipeline left in
// the metadata directory.
func writeEarlier(t *testing.T, p Paths, name, content string) {
	t.Helper()
	if err := os.MkdirAll(p.MetadataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.MetadataDir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readMetadata(t *testing.T, p Paths, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(p.MetadataDir, name))
	if os.IsNotExist(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestWriteComposesWithEarlierContainers: a platform's container before
// ours keeps its status key and its selector; ours are added beside them,
// and a selector of the same directory is joined.
func TestWriteComposesWithEarlierContainers(t *testing.T) {
	tests := []struct {
		name                    string
		status, selectors       string
		ours                    []DestinationSelector
		wantStatus, wantSelects string
		wantErr                 string
	}{
		{
			name:        "nothing before",
			ours:        []DestinationSelector{{Directory: "dev", MatchLabels: map[string]string{"env": "dev"}}},
			wantStatus:  "greeting: hi\nmessage: done\n",
			wantSelects: "- directory: dev\n  matchLabels:\n    env: dev\n",
		},
		{
			name:        "a key and a selector of another container",
			status:      "audit: {checkedBy: opa}\nmessage: checked\n",
			selectors:   "- matchLabels: {team: a}\n",
			ours:        []DestinationSelector{{Directory: "dev", MatchLabels: map[string]string{"env": "dev"}}},
			wantStatus:  "audit:\n  checkedBy: opa\ngreeting: hi\nmessage: done\n",
			wantSelects: "- matchLabels:\n    team: a\n- directory: dev\n  matchLabels:\n    env: dev\n",
		},
		{
			name:        "the same directory is one selector",
			selectors:   "- matchLabels: {region: eu}\n",
			ours:        []DestinationSelector{{MatchLabels: map[string]string{"env": "prod"}}},
			wantStatus:  "greeting: hi\nmessage: done\n",
			wantSelects: "- matchLabels:\n    env: prod\n    region: eu\n",
		},
		{
			name:      "labels that contradict",
			selectors: "- matchLabels: {env: dev}\n",
			ours:      []DestinationSelector{{MatchLabels: map[string]string{"env": "prod"}}},
			wantErr:   `destination-selectors.yaml: directory "": an earlier container selects env=dev, this stage env=prod`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPaths(t)
			if tt.status != "" {
				writeEarlier(t, p, statusFile, tt.status)
			}
			if tt.selectors != "" {
				writeEarlier(t, p, selectorsFile, tt.selectors)
			}
			res := &Result{Message: "done", Status: map[string]any{"greeting": "hi"}, DestinationSelectors: tt.ours}
			if len(tt.ours) > 0 && tt.ours[0].Directory == "dev" {
				res.Documents = []Document{{Directory: "dev", Object: configMap("ns", "a", nil)}}
			}
			err := Write(p, configure, "test", res)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := readMetadata(t, p, statusFile); got != tt.wantStatus {
				t.Errorf("status.yaml:\n%s\nwant:\n%s", got, tt.wantStatus)
			}
			if got := readMetadata(t, p, selectorsFile); got != tt.wantSelects {
				t.Errorf("destination-selectors.yaml:\n%s\nwant:\n%s", got, tt.wantSelects)
			}
		})
	}
}

// TestWriteRetryTakesBackOnlyItsOwn: a second attempt in the same Pod
// replaces what the first attempt of this stage wrote, and nothing of an
// earlier container's.
func TestWriteRetryTakesBackOnlyItsOwn(t *testing.T) {
	p := testPaths(t)
	writeEarlier(t, p, statusFile, "audit: ok\n")
	writeEarlier(t, p, selectorsFile, "- directory: platform\n  matchLabels: {team: platform}\n")
	first := &Result{
		Message: "first", Status: map[string]any{"stale": true, "greeting": "a"},
		DestinationSelectors: []DestinationSelector{{Directory: "dev", MatchLabels: map[string]string{"env": "dev"}}},
		Documents:            []Document{{Directory: "dev", Object: configMap("ns", "a", nil)}},
	}
	if err := Write(p, configure, "test", first); err != nil {
		t.Fatal(err)
	}
	second := &Result{Message: "second", Status: map[string]any{"greeting": "b"}, Control: &Control{Suspend: true, Message: "second"}}
	if err := Write(p, configure, "test", second); err != nil {
		t.Fatal(err)
	}
	if got, want := readMetadata(t, p, statusFile), "audit: ok\ngreeting: b\nmessage: second\n"; got != want {
		t.Errorf("status.yaml:\n%s\nwant:\n%s", got, want)
	}
	if got, want := readMetadata(t, p, selectorsFile), "- directory: platform\n  matchLabels:\n    team: platform\n"; got != want {
		t.Errorf("destination-selectors.yaml:\n%s\nwant:\n%s", got, want)
	}
	if got, want := readMetadata(t, p, controlFile), "message: second\nsuspend: true\n"; got != want {
		t.Errorf("workflow-control.yaml:\n%s\nwant:\n%s", got, want)
	}
	// A third attempt that goes through takes the workflow control back.
	third := &Result{Message: "third"}
	if err := Write(p, configure, "test", third); err != nil {
		t.Fatal(err)
	}
	if got := readMetadata(t, p, controlFile); got != "" {
		t.Errorf("workflow-control.yaml outlived the attempt that wrote it:\n%s", got)
	}
}

// TestWriteWithControlLeavesOutput: a run that stops the workflow writes
// no output, so the earlier Work stays; the status carries the message.
func TestWriteWithControlLeavesOutput(t *testing.T) {
	p := testPaths(t)
	res := &Result{
		Message:   "spec.size: too large",
		Control:   &Control{Suspend: true, Message: "spec.size: too large"},
		Documents: []Document{{Object: configMap("ns", "a", nil)}},
	}
	if err := Write(p, configure, "test", res); err != nil {
		t.Fatal(err)
	}
	if files := readTree(t, p.OutputDir); len(files) != 0 {
		t.Errorf("output %v, want none", files)
	}
	if got, want := readMetadata(t, p, statusFile), "message: 'spec.size: too large'\n"; got != want {
		t.Errorf("status.yaml %q, want %q", got, want)
	}
	if got, want := readMetadata(t, p, controlFile), "message: 'spec.size: too large'\nsuspend: true\n"; got != want {
		t.Errorf("workflow-control.yaml %q, want %q", got, want)
	}
}

func TestClearStatus(t *testing.T) {
	for status, want := range map[string]bool{
		"{retry: {attempts: 2}}": true,
		"{retry: null}":          false,
		"{other: 1}":             false,
		"{}":                     false,
	} {
		obj, err := ParseObject([]byte("apiVersion: v1\nkind: X\nmetadata: {name: x}\nstatus: " + status + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		var res Result
		res.ClearStatus(obj, "retry")
		v, written := res.Status["retry"]
		if written != want || v != nil {
			t.Errorf("status %s: wrote %v (%v), want written %v as null", status, written, v, want)
		}
	}
}
