// Package benchscenario is what cmd/pkbench times of the natsuser promise:
// its stage's steady state, self-hosted and against the Synadia Cloud fake,
// and batches of a thousand users. cmd/pkbench lists Scenarios with the
// other promises'; the types are internal/benchkit's.
package benchscenario

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/promisekit/promisekit/internal/benchkit"
	"github.com/promisekit/promisekit/internal/devkeys"
	"github.com/promisekit/promisekit/internal/overlaytest"
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/promises/natsuser/internal/fakesynadia"
)

const (
	natsuserPromise = "promises/natsuser/promise.yaml"
	natsuserRequest = "promises/natsuser/examples/orders-api.yaml"
)

// Scenarios time the natsuser stage's steady state, the run every
// scheduled re-run is once credentials exist: against the self-hosted
// default (no outside call at all) and against a local fake of Synadia
// Cloud (one GET). The batches re-reconcile a thousand users, as many
// Pods would after a controller restart, and count the calls made.
func Scenarios() ([]benchkit.Scenario, []benchkit.Batch) {
	var cloud natsuserCloud
	return []benchkit.Scenario{
			{
				Name:   "natsuser steady-state re-run (self-hosted, no outside calls)",
				Binary: "natsuser",
				Prepare: func(ctx context.Context, ws *benchkit.Workspace) (benchkit.Invocation, error) {
					keys, err := natsuserKeys(ws)
					if err != nil {
						return benchkit.Invocation{}, err
					}
					inv, err := benchkit.FirstConfigure(ws.Root, natsuserPromise, natsuserRequest, keys.Env())
					if err != nil {
						return benchkit.Invocation{}, err
					}
					return ws.Converge(ctx, "natsuser", inv, 2)
				},
				Budget:    3,
				MaxRSSMiB: 40,
			},
			// A platform's overlay (the README's) runs in the
			// promisekit-overlays sibling: what a run pays for it.
			{
				Name:   "natsuser steady-state re-run (self-hosted), one platform overlay in the sibling",
				Binary: "natsuser",
				Prepare: func(ctx context.Context, ws *benchkit.Workspace) (benchkit.Invocation, error) {
					keys, err := natsuserKeys(ws)
					if err != nil {
						return benchkit.Invocation{}, err
					}
					env, err := withOverlay(ws, keys.Env())
					if err != nil {
						return benchkit.Invocation{}, err
					}
					inv, err := benchkit.FirstConfigure(ws.Root, natsuserPromise, natsuserRequest, env)
					if err != nil {
						return benchkit.Invocation{}, err
					}
					return ws.Converge(ctx, "natsuser", inv, 2)
				},
				MaxRSSMiB: 40,
			},
			{
				Name:   "natsuser steady-state re-run (Synadia Cloud fake, one GET)",
				Binary: "natsuser",
				Prepare: func(ctx context.Context, ws *benchkit.Workspace) (benchkit.Invocation, error) {
					var c natsuserCloud
					env, err := c.start(ctx, ws)
					if err != nil {
						return benchkit.Invocation{}, err
					}
					inv, err := benchkit.FirstConfigure(ws.Root, natsuserPromise, natsuserRequest, env)
					if err != nil {
						return benchkit.Invocation{}, err
					}
					return ws.Converge(ctx, "natsuser", inv, 2)
				},
				MaxRSSMiB: 40,
			},
		}, []benchkit.Batch{
			{
				Name:   "natsuser: 1,000 users re-reconciled (self-hosted)",
				Binary: "natsuser",
				Prepare: func(ctx context.Context, ws *benchkit.Workspace) ([]benchkit.Invocation, error) {
					keys, err := natsuserKeys(ws)
					if err != nil {
						return nil, err
					}
					return natsuserBatch(ctx, ws, keys.Env())
				},
			},
			{
				Name:   "natsuser: 1,000 users re-reconciled (Synadia Cloud fake)",
				Binary: "natsuser",
				Prepare: func(ctx context.Context, ws *benchkit.Workspace) ([]benchkit.Invocation, error) {
					env, err := cloud.start(ctx, ws)
					if err != nil {
						return nil, err
					}
					return natsuserBatch(ctx, ws, env)
				},
				Counters: cloud.counters,
			},
		}
}

// withOverlay returns env with a configuration that adds the README's
// labels overlay to the one env names.
func withOverlay(ws *benchkit.Workspace, env map[string]string) (map[string]string, error) {
	examples, err := overlaytest.ReadExamples(filepath.Join(ws.Root, "promises/natsuser/README.md"))
	if err != nil {
		return nil, err
	}
	e, ok := examples["10-labels.yml"]
	if !ok {
		return nil, fmt.Errorf("promises/natsuser/README.md shows no overlay 10-labels.yml")
	}
	dir := filepath.Join(ws.Dir, "overlays")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, e.Name), []byte(e.Body), 0o644); err != nil {
		return nil, err
	}
	base, err := os.ReadFile(env[kratix.ConfigVariable])
	if err != nil {
		return nil, err
	}
	config := filepath.Join(ws.Dir, "natsuser-overlays.yaml")
	if err := os.WriteFile(config, []byte(overlaytest.Config(string(base), dir)), 0o644); err != nil {
		return nil, err
	}
	out := maps.Clone(env)
	out[kratix.ConfigVariable] = config
	return out, nil
}

// natsuserKeys writes development keys (a 4096-bit sealing key, as the
// controller makes) into the workspace.
func natsuserKeys(ws *benchkit.Workspace) (*devkeys.Keys, error) {
	return devkeys.Generate(filepath.Join(ws.Dir, "keys"), devkeys.Options{})
}

// natsuserCloud is a fake Synadia Cloud for one scenario, stopped when its
// context ends.
type natsuserCloud struct {
	fake *fakesynadia.Server
}

// start starts the fake with one account and returns the environment that
// points the stage at it.
func (c *natsuserCloud) start(ctx context.Context, ws *benchkit.Workspace) (map[string]string, error) {
	keys, err := natsuserKeys(ws)
	if err != nil {
		return nil, err
	}
	// Credentials expire relative to the runs' clock, as the stage sees it.
	if c.fake, err = fakesynadia.Start(fakesynadia.Options{Clock: func() time.Time { return benchkit.Now }}); err != nil {
		return nil, err
	}
	go func() {
		<-ctx.Done()
		c.fake.Close()
	}()
	acct, err := c.fake.AddAccount("bench")
	if err != nil {
		return nil, err
	}
	tokenFile := filepath.Join(ws.Dir, "synadia-token")
	if err := os.WriteFile(tokenFile, []byte(c.fake.Token), 0o600); err != nil {
		return nil, err
	}
	config := fmt.Sprintf(`sealing: {certificate: %q}
synadia: {url: %q, tokenFile: %q}
accounts:
  default:
    synadia: {accountID: %q, signingKeyGroup: Default}
`, keys.CertificateFile, c.fake.URL, tokenFile, acct.ID)
	configFile := filepath.Join(ws.Dir, "natsuser-synadia.yaml")
	if err := os.WriteFile(configFile, []byte(config), 0o644); err != nil {
		return nil, err
	}
	return map[string]string{"PROMISEKIT_CONFIG": configFile}, nil
}

// counters are the fake's counts, reported per request by the batch.
func (c *natsuserCloud) counters() map[string]float64 {
	if c.fake == nil {
		return nil
	}
	calls := c.fake.Calls()
	return map[string]float64{
		"outside calls":        float64(c.fake.TotalCalls()),
		"mutating calls":       float64(c.fake.Mutations()),
		"credential downloads": float64(calls[fakesynadia.RouteDownloadCreds]),
	}
}

// natsuserBatchSize is the number of requests a batch prepares; pkbench
// runs as many of them as its -batch flag says.
const natsuserBatchSize = 1000

// natsuserBatch makes natsuserBatchSize requests from the example and
// brings each to its steady state, two at a time (one per core).
func natsuserBatch(ctx context.Context, ws *benchkit.Workspace, env map[string]string) ([]benchkit.Invocation, error) {
	example, err := benchkit.FirstConfigure(ws.Root, natsuserPromise, natsuserRequest, env)
	if err != nil {
		return nil, err
	}
	invs := make([]benchkit.Invocation, natsuserBatchSize)
	errs := make([]error, natsuserBatchSize)
	next := make(chan int)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for i := range next {
				inv := example
				inv.Object = []byte(strings.Replace(string(example.Object), "name: orders-api", fmt.Sprintf("name: orders-api-%04d", i), 1))
				invs[i], errs[i] = ws.Converge(ctx, "natsuser", inv, 1)
			}
		})
	}
	for i := range natsuserBatchSize {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("request %d: %w", i, err)
		}
	}
	return invs, nil
}
