package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/promisekit/promisekit/internal/benchkit"
)

// sample is one process run.
type sample struct {
	wall, cpu time.Duration
	rssKiB    int64
}

// stats summarise samples by their medians; peak memory is the largest.
type stats struct {
	wall, cpu time.Duration
	rssMiB    float64
}

func summarise(ss []sample) stats {
	walls := make([]time.Duration, len(ss))
	cpus := make([]time.Duration, len(ss))
	var peak int64
	for i, s := range ss {
		walls[i], cpus[i] = s.wall, s.cpu
		peak = max(peak, s.rssKiB)
	}
	return stats{wall: median(walls), cpu: median(cpus), rssMiB: float64(peak) / 1024}
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// runOnce runs binary in p as Kratix would start it and measures it.
func runOnce(ctx context.Context, p *benchkit.Pod, binary string, inv benchkit.Invocation) (sample, error) {
	return runCommand(p, p.Command(ctx, binary, inv), filepath.Join(filepath.Dir(binary), "rusage"))
}

// runCommand runs cmd in fresh output directories through the rusage
// launcher (see cmd/rusage for why) and returns what the kernel accounted to
// that process and every child it waited for: wall time around
// fork/exec/wait, user+system CPU, and the largest peak RSS of any one of
// them.
func runCommand(p *benchkit.Pod, cmd *exec.Cmd, launcher string) (sample, error) {
	if err := p.Reset(); err != nil {
		return sample{}, err
	}
	name := filepath.Base(cmd.Args[len(cmd.Args)-1])
	cmd.Path, cmd.Args = launcher, append([]string{launcher}, cmd.Args...)
	r, w, err := os.Pipe()
	if err != nil {
		return sample{}, err
	}
	defer r.Close()
	cmd.ExtraFiles = []*os.File{w}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	w.Close()
	if err != nil {
		return sample{}, fmt.Errorf("%s: %v: %s", name, err, bytes.TrimSpace(stderr.Bytes()))
	}
	var wall, cpu, rssKiB int64
	if _, err := fmt.Fscan(r, &wall, &cpu, &rssKiB); err != nil {
		return sample{}, fmt.Errorf("reading %s's usage: %w", name, err)
	}
	return sample{wall: time.Duration(wall), cpu: time.Duration(cpu), rssKiB: rssKiB}, nil
}

// timeScenario times a scenario and the floor alternately, n runs each,
// after a few untimed warm-up runs of both.
//
// With keep, the workspace stays and the command that runs the stage again
// in it is printed; a scenario that needs a server it started is not
// runnable that way once pkbench has exited.
func timeScenario(ctx context.Context, root, binDir string, s benchkit.Scenario, n int, keep bool) (row, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops servers the scenario started
	ws, err := newWorkspace(root, binDir)
	if err != nil {
		return row{}, err
	}
	if !keep {
		defer os.RemoveAll(ws.Dir)
	}
	inv, err := s.Prepare(ctx, ws)
	if err != nil {
		return row{}, fmt.Errorf("preparing: %w", err)
	}
	p, err := benchkit.NewPod(ws.Dir, inv.Object)
	if err != nil {
		return row{}, err
	}
	stage := filepath.Join(ws.BinDir, s.Binary)
	floor := filepath.Join(ws.BinDir, "floor")
	if keep {
		cmd := p.Command(ctx, stage, inv)
		fmt.Fprintf(os.Stderr, "kept: env -i %s %s\n", strings.Join(cmd.Env, " "), stage)
	}
	const warmup = 5
	var stageRuns, floorRuns []sample
	for i := range n + warmup {
		st, err := runOnce(ctx, p, stage, inv)
		if err != nil {
			return row{}, err
		}
		fl, err := runOnce(ctx, p, floor, inv)
		if err != nil {
			return row{}, err
		}
		if i >= warmup {
			stageRuns, floorRuns = append(stageRuns, st), append(floorRuns, fl)
		}
	}
	r := row{name: s.Name, stage: summarise(stageRuns), floor: summarise(floorRuns), budget: s.Budget, maxRSS: s.MaxRSSMiB}
	r.size, _ = fileSize(stage)
	r.floorSize, _ = fileSize(floor)
	return r, nil
}

func runBatch(ctx context.Context, root, binDir string, b benchkit.Batch, n int) (batchRow, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ws, err := newWorkspace(root, binDir)
	if err != nil {
		return batchRow{}, err
	}
	defer os.RemoveAll(ws.Dir)
	invs, err := b.Prepare(ctx, ws)
	if err != nil {
		return batchRow{}, fmt.Errorf("preparing: %w", err)
	}
	if len(invs) > n {
		invs = invs[:n]
	}
	var before map[string]float64
	if b.Counters != nil {
		before = b.Counters()
	}
	binary := filepath.Join(ws.BinDir, b.Binary)
	var total sample
	var peak int64
	start := time.Now()
	for _, inv := range invs {
		p, err := benchkit.NewPod(ws.Dir, inv.Object)
		if err != nil {
			return batchRow{}, err
		}
		s, err := runOnce(ctx, p, binary, inv)
		p.Remove()
		if err != nil {
			return batchRow{}, err
		}
		total.cpu += s.cpu
		peak = max(peak, s.rssKiB)
	}
	r := batchRow{name: b.Name, requests: len(invs), wall: time.Since(start), cpu: total.cpu, peakMiB: float64(peak) / 1024}
	if b.Counters != nil {
		r.counters = map[string]float64{}
		for k, v := range b.Counters() {
			r.counters[k] = (v - before[k]) / float64(max(len(invs), 1))
		}
	}
	return r, nil
}

func newWorkspace(root, binDir string) (*benchkit.Workspace, error) {
	dir, err := os.MkdirTemp("", "pkbench-")
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(binDir)
	if err != nil {
		return nil, err
	}
	return &benchkit.Workspace{Dir: dir, BinDir: abs, Root: root}, nil
}

func fileSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
