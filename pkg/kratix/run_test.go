package kratix

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestCollectLate: a stage collects garbage only near stageHeapLimit,
// unless its Pod sets GOGC or GOMEMLIMIT, which then stand.
func TestCollectLate(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		wantGC    int
		wantLimit int64
	}{
		{"nothing set", nil, -1, stageHeapLimit},
		{"GOGC set", map[string]string{"GOGC": "50"}, 77, math.MaxInt64},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "100MiB"}, 77, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Known settings before, restored after: the runtime's are
			// process-wide.
			oldGC := debug.SetGCPercent(77)
			oldLimit := debug.SetMemoryLimit(math.MaxInt64)
			t.Cleanup(func() {
				debug.SetGCPercent(oldGC)
				debug.SetMemoryLimit(oldLimit)
			})
			collectLate(func(k string) string { return tt.env[k] })
			if got := debug.SetGCPercent(77); got != tt.wantGC {
				t.Errorf("GC percent %d, want %d", got, tt.wantGC)
			}
			if got := debug.SetMemoryLimit(-1); got != tt.wantLimit {
				t.Errorf("memory limit %d, want %d", got, tt.wantLimit)
			}
		})
	}
}
