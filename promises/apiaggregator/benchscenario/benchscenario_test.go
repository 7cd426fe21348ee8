package benchscenario

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/promisekit/promisekit/internal/benchkit"
	"github.com/promisekit/promisekit/internal/golist"
)

// TestOverlayScenarios runs each overlay scenario's invocation once with
// the stage binary and checks that its output went through the overlays,
// and that the other scenarios' did not: a timing of overlays that never
// ran would prove nothing.
func TestOverlayScenarios(t *testing.T) {
	root := golist.Root(t)
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin, "./pipelines/apiaggregator")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	scenarios, _ := Scenarios()
	ran := 0
	for _, sc := range scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			ctx := context.Background()
			ws := &benchkit.Workspace{Dir: t.TempDir(), BinDir: bin, Root: root}
			inv, err := sc.Prepare(ctx, ws)
			if err != nil {
				t.Fatal(err)
			}
			pod, err := benchkit.NewPod(ws.Dir, inv.Object)
			if err != nil {
				t.Fatal(err)
			}
			if out, err := pod.Command(ctx, filepath.Join(bin, sc.Binary), inv).CombinedOutput(); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			files, err := os.ReadDir(pod.Paths.OutputDir)
			if err != nil || len(files) == 0 {
				t.Fatalf("no output: %v", err)
			}
			overlays := strings.Contains(sc.Name, "overlays")
			for _, f := range files {
				data, err := os.ReadFile(filepath.Join(pod.Paths.OutputDir, f.Name()))
				if err != nil {
					t.Fatal(err)
				}
				if got := strings.Contains(string(data), "platform.example.com/cost-centre: platform"); got != overlays {
					t.Errorf("%s: overlay label present %v, want %v:\n%s", f.Name(), got, overlays, data)
				}
			}
			if overlays {
				ran++
			}
		})
	}
	if ran != 2 {
		t.Errorf("%d overlay scenarios ran, want the aggregator's and the target's", ran)
	}
}
