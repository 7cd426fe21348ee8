package natsuser

import (
	"context"
	"testing"

	"github.com/promisekit/promisekit/internal/stagetest"
)

// BenchmarkConfigure times one configure run in-process, in the steady
// state (what every scheduled re-run is) and when credentials are issued,
// and reports the outside calls per run. The cross-process figures against
// the floor binary come from cmd/pkbench.
func BenchmarkConfigure(b *testing.B) {
	ctx := context.Background()
	run := func(b *testing.B, h *stagetest.Harness) {
		b.Helper()
		if out := h.Configure(ctx); out.Err != nil {
			b.Fatal(out.Err)
		}
	}

	b.Run("self-hosted/steady", func(b *testing.B) {
		e := &selfHostedEnv{keys: testKeys(b)}
		h := e.harness(b, "orders-api", ordersSpec)
		run(b, h)
		for b.Loop() {
			run(b, h)
		}
		b.ReportMetric(0, "outside-calls/op") // nothing outside: the key is mounted
	})

	b.Run("self-hosted/issue", func(b *testing.B) {
		e := &selfHostedEnv{keys: testKeys(b)}
		h := e.harness(b, "orders-api", ordersSpec)
		run(b, h)
		for b.Loop() {
			// Renewal due on every run: mint, sign and seal each time.
			h.Now = storedState(b, h).CredentialsExpireAt.Add(-DefaultRenewBefore)
			run(b, h)
		}
	})

	b.Run("synadia/steady", func(b *testing.B) {
		e := newCloudWithoutNATS(b)
		h := e.harness(b, "orders-api", ordersSpec)
		run(b, h)
		e.fake.ResetCalls()
		n := 0
		for b.Loop() {
			run(b, h)
			n++
		}
		b.ReportMetric(float64(e.fake.TotalCalls())/float64(n), "outside-calls/op")
		b.ReportMetric(float64(e.fake.Mutations())/float64(n), "mutations/op")
	})

	b.Run("synadia/issue", func(b *testing.B) {
		e := newCloudWithoutNATS(b)
		h := e.harness(b, "orders-api", ordersSpec)
		run(b, h)
		e.fake.ResetCalls()
		n := 0
		for b.Loop() {
			e.setNow(h, storedState(b, h).CredentialsExpireAt.Add(-DefaultRenewBefore))
			run(b, h)
			n++
		}
		b.ReportMetric(float64(e.fake.TotalCalls())/float64(n), "outside-calls/op")
	})
}
