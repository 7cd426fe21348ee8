package kratix_test

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/promisekit/promisekit/internal/hostile"
	"github.com/promisekit/promisekit/pkg/kratix"
)

// TestParseObjectLimits holds ParseObject to what Kratix's default
// container limit (256 MiB of memory) allows: input larger than
// MaxInputBytes, anchored and aliased YAML, and nesting beyond the
// decoders' depth are refused before they cost much, and the costliest
// documents it does decode, the densest ones at MaxInputBytes, allocate
// less than 256 MiB in all, freed or not. Allocation is counted, not
// time, so the test means the same on any machine.
func TestParseObjectLimits(t *testing.T) {
	base := []byte("apiVersion: x.io/v1\nkind: T\nmetadata: {name: a, namespace: b}\nspec: {}\n")
	// A '&' and a "..." make ParseObject scan the document once more
	// before decoding it: the costliest path through it.
	scanned := hostile.With(t, base, "metadata.annotations.note", `"a & b, and so on..."`)
	atLimit := hostile.Fill(t, scanned, "spec.x", "{a}", kratix.MaxInputBytes)
	const (
		anchors = "input object: YAML anchors and aliases are not allowed"
		tooDeep = "exceeded max depth of 10000"
		tooBig  = "input object: larger than"
		mib     = 1 << 20
	)
	tests := []struct {
		name     string
		in       []byte
		wantErr  string // "" when the document is accepted
		maxAlloc uint64
	}{
		{"dense one-key maps at the limit", atLimit, "", 256 * mib},
		{"dense numbers at the limit", hostile.Fill(t, scanned, "spec.x", "1", kratix.MaxInputBytes), "", 256 * mib},
		{"block mapping at the limit", blockMapping(t, scanned, kratix.MaxInputBytes), "", 256 * mib},
		{"one byte over the limit", append(bytes.Clone(atLimit), bytes.Repeat([]byte("#"), kratix.MaxInputBytes+1-len(atLimit))...), tooBig, mib},
		{"several MiB", hostile.Fill(t, base, "spec.x", "1", 4*mib), tooBig, mib},

		{"billion laughs", hostile.With(t, base, "spec.x", hostile.AliasBomb(9, 10)), anchors, mib},
		// Within yaml.v2's alias-ratio check: decoded, this is 285 MiB.
		{"anchor copies yaml.v2 allows", hostile.With(t, base, "spec.x", hostile.AnchorCopies(53000, 5)), anchors, 64 * mib},
		{"anchor copies near the size limit", hostile.With(t, base, "spec.x", hostile.AnchorCopies(70000, 3)), anchors, 64 * mib},

		{"nesting the decoders allow", hostile.With(t, base, "spec.x", hostile.Nested(9990)), "", 64 * mib},
		{"flow nesting beyond the YAML decoder's", hostile.With(t, base, "spec.x", hostile.Nested(10001)), tooDeep, 64 * mib},
		{"block nesting beyond the YAML decoder's", append(bytes.Clone(base), "status:\n  x:\n  "+strings.Repeat("- ", 10001)+"1\n"...), tooDeep, 64 * mib},
		{"nesting beyond the JSON decoder's", hostile.With(t, base, "spec.x", hostile.Nested(9999)), "exceeded max depth", 64 * mib},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err := kratix.ParseObject(tt.in)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error = %v, want %q", err, tt.wantErr)
			}
			if alloc > tt.maxAlloc {
				t.Errorf("allocated %d KiB for %d bytes, more than %d KiB", alloc>>10, len(tt.in), tt.maxAlloc>>10)
			}
			t.Logf("%d bytes: %d KiB allocated, %v", len(tt.in), alloc>>10, took.Round(time.Millisecond))
		})
	}
}

// blockMapping is doc with a status key holding one-key block mappings,
// as Kratix writes status, to about size bytes.
func blockMapping(t *testing.T, doc []byte, size int) []byte {
	t.Helper()
	var b bytes.Buffer
	b.Write(doc)
	b.WriteString("status:\n")
	for i := 0; b.Len() < size-32; i++ {
		b.WriteString("  k")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(itoa(i))
		b.WriteString(": 1\n")
	}
	return b.Bytes()
}

func itoa(i int) string {
	var buf [20]byte
	n := len(buf)
	for {
		n--
		buf[n] = byte('0' + i%10)
		if i /= 10; i == 0 {
			return string(buf[n:])
		}
	}
}

// TestReadObjectReadsNoMoreThanTheLimit: a file of any size costs
// ReadObject MaxInputBytes and one byte.
func TestReadObjectReadsNoMoreThanTheLimit(t *testing.T) {
	file := filepath.Join(t.TempDir(), "object.yaml")
	if err := os.WriteFile(file, bytes.Repeat([]byte("# padding\n"), 8<<20/10), 0o644); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := kratix.ReadObject(file)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "input object: larger than") {
		t.Errorf("error = %v, want the size limit", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4*kratix.MaxInputBytes {
		t.Errorf("allocated %d KiB reading an 8 MiB file", alloc>>10)
	}
}
