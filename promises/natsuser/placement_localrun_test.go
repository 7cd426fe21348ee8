package natsuser

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/promisekit/promisekit/internal/kratixsim"
	"github.com/promisekit/promisekit/internal/localrun"
)

// TestPlacementLocalRun runs the built natsuser binary through the local
// runner, which lays the state store out per destination as Kratix does,
// with two destinations labelled as the configuration selects them. A
// request lands under its own destination's tree only; moved, its file
// leaves the old destination's tree and appears, sealed for the new key,
// under the new one's.
func TestPlacementLocalRun(t *testing.T) {
	bin := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", filepath.Join(bin, "natsuser"), "github.com/promisekit/promisekit/pipelines/natsuser").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	e := newPlacement(t)
	store := filepath.Join(t.TempDir(), "state")
	request := filepath.Join(t.TempDir(), "orders-api.yaml")
	now := time.Now().UTC().Truncate(time.Second)
	var dests []localrun.Destination
	for _, d := range e.keys.Destinations {
		dests = append(dests, localrun.Destination{Name: d.Name, Labels: d.Labels})
	}
	run := func(destination string) {
		t.Helper()
		writeFile(t, request, string(newRequest("orders-api", ordersSpec+"destination: "+destination+"\n")))
		_, err := localrun.Run(context.Background(), localrun.Options{
			PromiseFile: "promise.yaml", RequestFile: request, StateStore: store, BinDir: bin,
			Env: e.keys.Env(), Now: now, Destinations: dests,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// file is where the state store holds the SealedSecret on dest.
	file := func(dest string) string {
		return filepath.Join(store, filepath.FromSlash(kratixsim.WorkDir(dest, "team-orders", "natsuser", "orders-api", "natsuser", dest)),
			dest, "sealedsecret_team-orders_orders-api-nats.yaml")
	}

	run("cluster-a")
	checkStore(t, store, file("cluster-a"))
	e.opensOnlyWith(t, []byte(readFile(t, file("cluster-a"))), "cluster-a")

	// Moved: the file is on cluster-b alone, nothing is left on cluster-a.
	run("cluster-b")
	checkStore(t, store, file("cluster-b"))
	e.opensOnlyWith(t, []byte(readFile(t, file("cluster-b"))), "cluster-b")
}

// checkStore requires want to be the only file of the state store outside
// the runner's copy of the platform API.
func checkStore(t *testing.T, store, want string) {
	t.Helper()
	if got := storeFiles(t, store); !slices.Equal(got, []string{want}) {
		t.Fatalf("state store holds %v, want %s alone", got, want)
	}
}

func storeFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && d.Name() == localrun.PlatformDir:
			return filepath.SkipDir
		case !d.IsDir():
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(files, strings.Compare)
	return files
}
