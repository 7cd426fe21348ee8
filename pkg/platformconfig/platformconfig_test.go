package platformconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type settings struct {
	Class string `json:"class"`
	Port  int    `json:"port"`
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		path    string
		want    settings
		found   bool
		wantErr string
	}{
		{name: "missing file keeps defaults", path: filepath.Join(dir, "absent.yaml"), want: settings{"default", 80}},
		{name: "empty file keeps defaults", path: write("empty.yaml", ""), want: settings{"default", 80}, found: true},
		{name: "partial file overrides", path: write("partial.yaml", "class: eg\n"), want: settings{"eg", 80}, found: true},
		{name: "unknown field", path: write("typo.yaml", "clas: eg\n"), wantErr: "config.clas: unknown field"},
		{name: "wrong type", path: write("type.yaml", "port: http\n"), wantErr: "config.port: must be an integer"},
		{name: "duplicate key", path: write("dup.yaml", "class: a\nclass: b\n"), wantErr: "already set"},
		{name: "too large", path: write("big.yaml", "class: "+strings.Repeat("x", MaxBytes)+"\n"), wantErr: "larger than"},
		{name: "a directory", path: dir, wantErr: "platform configuration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := settings{"default", 80}
			path, found, err := Load(func(k string) string {
				if k == Variable {
					return tt.path
				}
				return ""
			}, &got)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), tt.path) {
					t.Fatalf("error = %v, want %q naming %s", err, tt.wantErr, tt.path)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || found != tt.found || path != tt.path {
				t.Errorf("got %+v found=%v path=%s, want %+v found=%v", got, found, path, tt.want, tt.found)
			}
		})
	}
}

func TestLoadDefaultPath(t *testing.T) {
	path, _, _ := Load(func(string) string { return "" }, &settings{})
	if path != DefaultPath {
		t.Errorf("path = %s, want %s", path, DefaultPath)
	}
}
