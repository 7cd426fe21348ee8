package overlays

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// overlayDir writes files into a directory laid out as the kubelet mounts
// a ConfigMap: each key a link to ..data/<key>, ..data a link to a
// timestamped directory holding the files.
func overlayDir(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	stamp := filepath.Join(dir, "..2026_12_06_04_50_00.123456789")
	if err := os.Mkdir(stamp, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(stamp, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Base(stamp), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRead(t *testing.T) {
	s, err := Read(overlayDir(t, map[string]string{"b.yaml": "a: 1\n", "a.yml": "a: 1\n", "lib.star": "x = 1\n"}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(s.Names(), ","), "a.yml,b.yaml,lib.star"; got != want {
		t.Errorf("Names() = %s, want %s (the ConfigMap's ..data and timestamped directory skipped)", got, want)
	}
	if s.Empty() {
		t.Error("a set with files is empty")
	}
	if e, err := Read(overlayDir(t, nil)); err != nil || !e.Empty() {
		t.Errorf("an empty ConfigMap gives %v, %v; want an empty set", e, err)
	}
	if _, err := Read(overlayDir(t, map[string]string{"labels.json": "{}"})); err == nil || !strings.Contains(err.Error(), "labels.json: not an overlay file") {
		t.Errorf("a .json file: %v, want it refused by name", err)
	}
	if _, err := Read(overlayDir(t, map[string]string{"big.yml": strings.Repeat("#", MaxBytes+1)})); err == nil || !strings.Contains(err.Error(), "exceed") {
		t.Errorf("an oversized set: %v, want it refused", err)
	}
	if _, err := Read(filepath.Join(t.TempDir(), "absent")); !os.IsNotExist(err) {
		t.Errorf("an absent directory: %v, want not-exist", err)
	}
}
