package main

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"
)

type row struct {
	name            string
	stage, floor    stats
	size, floorSize int64
	budget, maxRSS  float64
}

func (r row) ratio() float64 { return float64(r.stage.wall) / float64(r.floor.wall) }

func (r row) verdict() string {
	var fails []string
	if r.budget > 0 && r.ratio() > r.budget {
		fails = append(fails, fmt.Sprintf("wall %.2fx > %.1fx", r.ratio(), r.budget))
	}
	if r.maxRSS > 0 && r.stage.rssMiB > r.maxRSS {
		fails = append(fails, fmt.Sprintf("RSS %.1f > %.0f MiB", r.stage.rssMiB, r.maxRSS))
	}
	if len(fails) > 0 {
		return "over: " + strings.Join(fails, ", ")
	}
	if r.budget > 0 || r.maxRSS > 0 {
		var b []string
		if r.budget > 0 {
			b = append(b, fmt.Sprintf("≤ %.0fx", r.budget))
		}
		if r.maxRSS > 0 {
			b = append(b, fmt.Sprintf("≤ %.0f MiB", r.maxRSS))
		}
		return "within " + strings.Join(b, ", ")
	}
	return ""
}

type batchRow struct {
	name      string
	requests  int
	wall, cpu time.Duration
	peakMiB   float64
	counters  map[string]float64
}

type report struct {
	Started     time.Time
	Machine     string
	Command     string // this run's command line
	ShellTools  string // versions of bash and the CLIs the comparisons drove
	Runs        int
	BatchSize   int
	Rows        []row
	Comparisons []comparisonRow
	Batches     []batchRow
}

func (rep *report) write(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	fmt.Fprintf(&b, "Measured %s on %s; %d timed runs per binary, alternating with the floor binary.\n",
		rep.Started.Format("2006-01-02 15:04 MST"), rep.Machine, rep.Runs)
	fmt.Fprintf(&b, "Reproduce with `make bench`; this report: `%s`.\n\n", rep.Command)
	if len(rep.Rows) > 0 {
		b.WriteString("| stage | median wall | median CPU | peak RSS | binary | floor wall | floor CPU | floor RSS | floor binary | wall ratio | budget |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
		for _, r := range rep.Rows {
			fmt.Fprintf(&b, "| %s | %s | %s | %.1f MiB | %s | %s | %s | %.1f MiB | %s | **%.2fx** | %s |\n",
				r.name, ms(r.stage.wall), ms(r.stage.cpu), r.stage.rssMiB, mib(r.size),
				ms(r.floor.wall), ms(r.floor.cpu), r.floor.rssMiB, mib(r.floorSize), r.ratio(), r.verdict())
		}
		b.WriteString("\n")
	}
	if len(rep.Comparisons) > 0 {
		fmt.Fprintf(&b, "Against the status quo: the same request through a shell-script stage (bench/shell/), "+
			"run as `bash <script>` with the same Kratix environment, interleaved with our stage and the floor. "+
			"A script's CPU is that of every process it ran; its peak RSS is that of the largest single one. "+
			"Every binary is started through cmd/rusage, so that no figure includes pkbench's own memory. Tools: %s.\n\n", rep.ShellTools)
		b.WriteString("| comparison | shell wall | shell CPU | shell RSS | ours wall | ours CPU | ours RSS | floor wall | floor CPU | floor RSS | shell ÷ ours | ours ÷ floor | bar |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
		for _, r := range rep.Comparisons {
			fmt.Fprintf(&b, "| %s | %s | %s | %.1f MiB | %s | %s | %.1f MiB | %s | %s | %.1f MiB | **%.1fx** | **%.2fx** | %s |\n",
				r.name, ms(r.shell.wall), ms(r.shell.cpu), r.shell.rssMiB, ms(r.ours.wall), ms(r.ours.cpu), r.ours.rssMiB,
				ms(r.floor.wall), ms(r.floor.cpu), r.floor.rssMiB, r.shellRatio(), r.floorRatio(), r.verdict())
		}
		b.WriteString("\n")
	}
	if len(rep.Batches) > 0 {
		b.WriteString("| batch | requests | total wall | total CPU | CPU per request | peak RSS | per request |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---|\n")
		for _, r := range rep.Batches {
			var cs []string
			for _, k := range slices.Sorted(maps.Keys(r.counters)) {
				cs = append(cs, fmt.Sprintf("%s: %.2f", k, r.counters[k]))
			}
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %.1f MiB | %s |\n", r.name, r.requests,
				secs(r.wall), secs(r.cpu), ms(r.cpu/time.Duration(max(r.requests, 1))), r.peakMiB, strings.Join(cs, ", "))
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (rep *report) overBudget() []string {
	var out []string
	for _, r := range rep.Rows {
		if v := r.verdict(); strings.HasPrefix(v, "over") {
			out = append(out, r.name+": "+v)
		}
	}
	for _, r := range rep.Comparisons {
		if v := r.verdict(); strings.HasPrefix(v, "over") {
			out = append(out, r.name+": "+v)
		}
	}
	return out
}

// kernelAndCPU describes the processor and kernel for the report, as
// " (<CPU model>), Linux <release>", or "" where /proc says nothing.
func kernelAndCPU() string {
	var s string
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		defer f.Close()
		for sc := bufio.NewScanner(f); sc.Scan(); {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				s = " (" + strings.TrimSpace(v) + ")"
				break
			}
		}
	}
	if release, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		s += ", Linux " + strings.TrimSpace(string(release))
	}
	return s
}

func ms(d time.Duration) string   { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
func mib(n int64) string          { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
