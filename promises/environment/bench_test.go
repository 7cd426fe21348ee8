package environment

import (
	"context"
	"testing"
)

// BenchmarkConfigureACK is one steady-state run of the stage in ack mode,
// in-process, for a vcluster environment (the most documents). It reports
// the documents written per run.
func BenchmarkConfigureACK(b *testing.B) {
	h := newPipeline(b, request(b, "examples/development.yaml", nil), "examples/platform/ack.yaml", nil)
	ctx := context.Background()
	var files int
	for b.Loop() {
		o := h.Configure(ctx)
		if o.Err != nil {
			b.Fatal(o.Err)
		}
		files = len(o.Files)
	}
	b.ReportMetric(float64(files), "documents/op")
}

// BenchmarkReconcileAPI is one scheduled re-run of the configure pipeline
// in api mode against moto, reporting the AWS calls each run makes by kind:
// the target is reads only.
func BenchmarkReconcileAPI(b *testing.B) {
	f := newAWSFixture(b)
	h := f.harness(b, request(b, "examples/preview.yaml", nil))
	ctx := context.Background()
	if o := h.Configure(ctx); o.Err != nil {
		b.Fatal(o.Err)
	}
	f.proxy.Reset()
	for b.Loop() {
		if o := h.Configure(ctx); o.Err != nil {
			b.Fatal(o.Err)
		}
	}
	reads, writes := 0, 0
	for _, c := range f.proxy.Calls() {
		if c.Mutating() {
			writes++
		} else {
			reads++
		}
	}
	b.ReportMetric(float64(reads)/float64(b.N), "aws-reads/op")
	b.ReportMetric(float64(writes)/float64(b.N), "aws-writes/op")
}
