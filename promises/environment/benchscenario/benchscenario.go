// Package benchscenario is what cmd/pkbench times of the environment
// promise: its configure pipeline in ack mode, and a batch of api-mode
// re-runs against moto. cmd/pkbench lists Scenarios with the other
// promises'; the types are internal/benchkit's.
package benchscenario

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/benchkit"
	"github.com/promisekit/promisekit/promises/environment/internal/awscalls"
	"github.com/promisekit/promisekit/promises/environment/internal/motoserver"
)

// Scenarios time the environment promise's one-stage configure
// pipeline: in ack mode against the floor (the budget: 3x, 40 MiB),
// and as a batch of scheduled re-runs in api mode against moto, counting
// the AWS calls each environment makes (the target is reads only). In api
// mode the environment binary hands over to environment-aws, and the
// batch's figures include that.
func Scenarios() ([]benchkit.Scenario, []benchkit.Batch) {
	ack := func(name, request string) benchkit.Scenario {
		return benchkit.Scenario{
			Name:   name,
			Binary: "environment",
			Prepare: func(ctx context.Context, ws *benchkit.Workspace) (benchkit.Invocation, error) {
				inv, err := environmentInvocation(ws, request, "env-bench", map[string]string{
					"PROMISEKIT_CONFIG": filepath.Join(ws.Root, "promises/environment/examples/platform/ack.yaml"),
				})
				if err != nil {
					return benchkit.Invocation{}, err
				}
				return ws.Converge(ctx, "environment", inv, 1)
			},
			Budget:    3,
			MaxRSSMiB: 40,
		}
	}
	// The batch's proxy, set by Prepare and read by Counters.
	var proxy *awscalls.Proxy
	batch := benchkit.Batch{
		Name:   "environment api-mode re-reconcile against moto",
		Binary: "environment",
		Prepare: func(ctx context.Context, ws *benchkit.Workspace) ([]benchkit.Invocation, error) {
			env, p, err := startMoto(ctx, ws)
			if err != nil {
				return nil, err
			}
			proxy = p
			return convergeMany(ctx, ws, 1000, func(i int) (benchkit.Invocation, error) {
				return environmentInvocation(ws, "promises/environment/examples/preview.yaml", fmt.Sprintf("env-%04d", i), env)
			})
		},
		Counters: func() map[string]float64 {
			if proxy == nil {
				return nil
			}
			var reads, writes float64
			for c, n := range proxy.Counts() {
				if c.Mutating() {
					writes += float64(n)
				} else {
					reads += float64(n)
				}
			}
			return map[string]float64{"AWS reads": reads, "AWS writes": writes}
		},
	}
	return []benchkit.Scenario{
		ack("environment configure, ack mode, vcluster (steady state)", "promises/environment/examples/development.yaml"),
		ack("environment configure, ack mode, namespace (steady state)", "promises/environment/examples/preview.yaml"),
	}, []benchkit.Batch{batch}
}

// environmentInvocation is the first configure pipeline of the promise on
// an example request, given the identity the API server would: a name, a
// namespace, a uid and a creation time an hour before the benchmark's clock
// (inside every example's lifetime).
func environmentInvocation(ws *benchkit.Workspace, request, name string, env map[string]string) (benchkit.Invocation, error) {
	inv, err := benchkit.FirstConfigure(ws.Root, "promises/environment/promise.yaml", request, env)
	if err != nil {
		return benchkit.Invocation{}, err
	}
	var obj map[string]any
	if err := yaml.Unmarshal(inv.Object, &obj); err != nil {
		return benchkit.Invocation{}, err
	}
	meta, _ := obj["metadata"].(map[string]any)
	if meta == nil {
		return benchkit.Invocation{}, errors.New(request + ": no metadata")
	}
	meta["name"] = name
	meta["namespace"] = "bench"
	meta["uid"] = "uid-" + name
	meta["creationTimestamp"] = benchkit.Now.Add(-time.Hour).Format(time.RFC3339)
	if inv.Object, err = yaml.Marshal(obj); err != nil {
		return benchkit.Invocation{}, err
	}
	return inv, nil
}

// startMoto starts moto_server and a recording proxy in front of it, both
// stopped when ctx ends, and returns the api-mode configuration for them.
func startMoto(ctx context.Context, ws *benchkit.Workspace) (map[string]string, *awscalls.Proxy, error) {
	moto, err := motoserver.Start(ctx)
	if err != nil {
		return nil, nil, err
	}
	proxy, err := awscalls.New(moto.URL)
	if err != nil {
		moto.Close()
		return nil, nil, err
	}
	srv := httptest.NewServer(proxy)
	go func() {
		<-ctx.Done()
		srv.Close()
		moto.Close()
	}()
	config := filepath.Join(ws.Dir, "environment-api.yaml")
	err = os.WriteFile(config, []byte(`aws:
  mode: api
  region: us-east-1
  accountID: "`+motoserver.AccountID+`"
  oidcIssuer: https://oidc.eks.us-east-1.amazonaws.com/id/BENCH
`), 0o644)
	if err != nil {
		return nil, nil, err
	}
	return map[string]string{
		"PROMISEKIT_CONFIG":     config,
		"AWS_ENDPOINT_URL":      srv.URL,
		"AWS_ACCESS_KEY_ID":     motoserver.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY": motoserver.SecretAccessKey,
	}, proxy, nil
}

// convergeMany brings n invocations to steady state, a few at a time (moto
// serves requests concurrently): one run each creates the AWS
// resources and the status the re-runs start from.
func convergeMany(ctx context.Context, ws *benchkit.Workspace, n int, invocation func(i int) (benchkit.Invocation, error)) ([]benchkit.Invocation, error) {
	out := make([]benchkit.Invocation, n)
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range next {
				inv, err := invocation(i + 1)
				if err == nil {
					inv, err = ws.Converge(ctx, "environment", inv, 1)
				}
				out[i], errs[i] = inv, err
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return out, errors.Join(errs...)
}
