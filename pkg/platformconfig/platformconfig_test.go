package platformconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
		wantErr string
	}{
		{name: "a named file must exist", path: filepath.Join(dir, "absent.yaml"), wantErr: "no such file"},
		{name: "empty file keeps defaults", path: write("empty.yaml", ""), want: settings{"default", 80}},
		{name: "partial file overrides", path: write("partial.yaml", "class: eg\n"), want: settings{"eg", 80}},
		{name: "unknown field", path: write("typo.yaml", "clas: eg\n"), wantErr: "config.clas: unknown field"},
		{name: "wrong type", path: write("type.yaml", "port: http\n"), wantErr: "config.port: must be an integer"},
		{name: "duplicate key", path: write("dup.yaml", "class: a\nclass: b\n"), wantErr: "already set"},
		{name: "too large", path: write("big.yaml", "class: "+strings.Repeat("x", MaxBytes)+"\n"), wantErr: "larger than"},
		{name: "a directory", path: dir, wantErr: "platform configuration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := settings{"default", 80}
			path, err := Load(tt.path, &got)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), tt.path) {
					t.Fatalf("error = %v, want %q naming %s", err, tt.wantErr, tt.path)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || path != tt.path {
				t.Errorf("got %+v path=%s, want %+v", got, path, tt.want)
			}
		})
	}
}

func TestLoadDefaultPath(t *testing.T) {
	// Without a path the default one is read, and its absence (the
	// Promise mounts it optionally) leaves the defaults.
	got := settings{"default", 80}
	path, err := Load("", &got)
	if path != DefaultPath {
		t.Errorf("path = %s, want %s", path, DefaultPath)
	}
	if _, statErr := os.Stat(DefaultPath); statErr == nil {
		t.Skipf("%s exists on this machine", DefaultPath)
	}
	if err != nil || got != (settings{"default", 80}) {
		t.Errorf("Load(\"\") = %+v, %v; want the defaults and no error", got, err)
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		v       Duration
		want    time.Duration
		wantErr bool
	}{
		{"", time.Minute, false},
		{"30s", 30 * time.Second, false},
		{"1h30m", 90 * time.Minute, false},
		{"0s", time.Minute, true},
		{"-1s", time.Minute, true},
		{"30", time.Minute, true},
		{"soon", time.Minute, true},
	}
	for _, tt := range tests {
		err := tt.v.Check()
		if got := tt.v.Or(time.Minute); (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%q: Or = %v, Check = %v; want %v, error %v", tt.v, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), string(tt.v)) {
			t.Errorf("%q: error %q does not quote the value", tt.v, err)
		}
	}
}
