package main

import (
	"fmt"
	"io"
	"maps"
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
	Started   time.Time
	Machine   string
	Runs      int
	BatchSize int
	Rows      []row
	Batches   []batchRow
}

func (rep *report) write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s on %s; %d timed runs per binary, alternating with the floor binary.\n\n",
		rep.Started.Format("2006-01-02 15:04 MST"), rep.Machine, rep.Runs)
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
	return out
}

func ms(d time.Duration) string   { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
func mib(n int64) string          { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
