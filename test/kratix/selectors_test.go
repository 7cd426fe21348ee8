package contract

import (
	"reflect"
	"strings"
	"testing"

	"github.com/syntasso/kratix/api/v1alpha1"
	"github.com/syntasso/kratix/work-creator/lib"
)

// TestParseDestinationSelectors records what Kratix's parser accepts, next
// to what pkg/kratix (result.go validateSelectors) does with the same
// selectors. pkg/kratix refuses everything Kratix refuses; where it is
// stricter, the promisekit column says why.
func TestParseDestinationSelectors(t *testing.T) {
	tests := []struct {
		name string
		file string
		// want is Kratix's result when it accepts the file.
		want []v1alpha1.WorkflowDestinationSelectors
		// wantErr is a substring of Kratix's error when it refuses it.
		wantErr string
		// promisekit is pkg/kratix's verdict, for the reader.
		promisekit string
	}{
		{
			name:       "a directory",
			file:       "- directory: dev\n  matchLabels: {environment: dev}\n",
			want:       []v1alpha1.WorkflowDestinationSelectors{{Directory: "dev", MatchLabels: map[string]string{"environment": "dev"}}},
			promisekit: "accepted",
		},
		{
			name:       "no directory is the default group",
			file:       "- matchLabels: {environment: dev}\n",
			want:       []v1alpha1.WorkflowDestinationSelectors{{Directory: ".", MatchLabels: map[string]string{"environment": "dev"}}},
			promisekit: "accepted",
		},
		{
			name:       `"." is the default group`,
			file:       "- directory: .\n  matchLabels: {environment: dev}\n",
			want:       []v1alpha1.WorkflowDestinationSelectors{{Directory: ".", MatchLabels: map[string]string{"environment": "dev"}}},
			promisekit: "accepted",
		},
		{
			name:       "directories are cleaned",
			file:       "- directory: ./dev/\n  matchLabels: {environment: dev}\n",
			want:       []v1alpha1.WorkflowDestinationSelectors{{Directory: "dev", MatchLabels: map[string]string{"environment": "dev"}}},
			promisekit: "accepted",
		},
		{
			name:       "empty matchLabels",
			file:       "- directory: dev\n  matchLabels: {}\n",
			wantErr:    "entry with index 0 has no selectors",
			promisekit: "refused: matchLabels is empty",
		},
		{
			name:       "no matchLabels",
			file:       "- directory: dev\n",
			wantErr:    "entry with index 0 has no selectors",
			promisekit: "refused: matchLabels is empty",
		},
		{
			name:       "duplicate directory after cleaning",
			file:       "- directory: dev\n  matchLabels: {a: b}\n- directory: dev/\n  matchLabels: {c: d}\n",
			wantErr:    "duplicate entries in destination-selectors.yaml",
			promisekit: "refused: appears twice",
		},
		{
			name:       "two default groups",
			file:       "- matchLabels: {a: b}\n- directory: .\n  matchLabels: {c: d}\n",
			wantErr:    "duplicate entries in destination-selectors.yaml",
			promisekit: "refused: appears twice",
		},
		{
			name:       "nested directory",
			file:       "- directory: dev/eu\n  matchLabels: {a: b}\n",
			wantErr:    "invalid directory in destination-selectors.yaml: dev/eu, sub-directories are not allowed",
			promisekit: "refused: must be a single directory name",
		},
		{
			name:       "a directory outside the output",
			file:       "- directory: ../x\n  matchLabels: {a: b}\n",
			wantErr:    "sub-directories are not allowed",
			promisekit: "refused: must be a single directory name",
		},
		{
			name: `".." itself`,
			file: "- directory: ..\n  matchLabels: {a: b}\n",
			// Kratix accepts it, then reads the directory above its output.
			want:       []v1alpha1.WorkflowDestinationSelectors{{Directory: "..", MatchLabels: map[string]string{"a": "b"}}},
			promisekit: "refused (stricter): must be a single directory name",
		},
		{
			name:       `"/"`,
			file:       "- directory: /\n  matchLabels: {a: b}\n",
			want:       []v1alpha1.WorkflowDestinationSelectors{{Directory: "/", MatchLabels: map[string]string{"a": "b"}}},
			promisekit: "refused (stricter): must be a single directory name",
		},
		{
			name: "invalid label value",
			file: "- directory: dev\n  matchLabels: {env: a b}\n",
			// Kratix does not check labels; such a selector matches nothing.
			want:       []v1alpha1.WorkflowDestinationSelectors{{Directory: "dev", MatchLabels: map[string]string{"env": "a b"}}},
			promisekit: "refused (stricter): invalid label value",
		},
		{
			name:       "not a list",
			file:       "directory: dev\n",
			wantErr:    "invalid destination-selectors.yaml",
			promisekit: "cannot be written: Result.DestinationSelectors is a list",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lib.ParseDestinationSelectors([]byte(tt.file))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseDestinationSelectors() = %v, %v; want an error containing %q (promisekit: %s)", got, err, tt.wantErr, tt.promisekit)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDestinationSelectors(): %v (promisekit: %s)", err, tt.promisekit)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseDestinationSelectors() = %+v, want %+v", got, tt.want)
			}
		})
	}
}
