// Command pkbench times stage binaries as Kratix runs them, one process per
// run, next to the floor binary (which only reads its input and writes one
// file) run in the same invocation on the same input. Absolute times drift
// on shared machines; the ratio to the floor is the figure to steer by.
//
//	pkbench [-n 200] [-bin bin] [-o docs/benchmarks.md] [-run regexp]
//
// Each Scenario is timed -n times, alternating with the floor so that both
// see the same machine. Each Comparison does the same with a shell-script
// stage (the status quo) as a third contender. Each Batch runs every
// invocation once, as that many Pods would, and reports CPU in total and per
// request.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/promisekit/promisekit/internal/benchkit"
	apiaggregatorbench "github.com/promisekit/promisekit/promises/apiaggregator/benchscenario"
	environmentbench "github.com/promisekit/promisekit/promises/environment/benchscenario"
	natsuserbench "github.com/promisekit/promisekit/promises/natsuser/benchscenario"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "pkbench: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		n       = flag.Int("n", 200, "timed runs per scenario (and as many floor runs)")
		binDir  = flag.String("bin", "bin", "directory of built binaries")
		outFile = flag.String("o", "", "also write the report to this Markdown file")
		filter  = flag.String("run", "", "only scenarios whose name matches this regexp")
		batchN  = flag.Int("batch", 1000, "requests per batch")
		keep    = flag.Bool("keep", false, "keep each scenario's pod and print the command that runs its stage again, for a profiler")
	)
	flag.Parse()
	match, err := regexp.Compile(*filter)
	if err != nil {
		return fmt.Errorf("-run: %w", err)
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	rep := &report{Started: time.Now().UTC(), Runs: *n, BatchSize: *batchN}
	ctx := context.Background()

	scenarios, batches := allScenarios()
	for _, s := range scenarios {
		if !match.MatchString(s.Name) {
			continue
		}
		fmt.Fprintf(os.Stderr, "timing %s …\n", s.Name)
		row, err := timeScenario(ctx, root, *binDir, s, *n, *keep)
		if err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
		rep.Rows = append(rep.Rows, row)
	}
	for _, c := range comparisons() {
		if !match.MatchString(c.Name) {
			continue
		}
		fmt.Fprintf(os.Stderr, "timing %s …\n", c.Name)
		row, err := timeComparison(ctx, root, *binDir, c, *n)
		if err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
		rep.Comparisons = append(rep.Comparisons, row)
	}
	if len(rep.Comparisons) > 0 {
		rep.ShellTools = shellToolVersions(*binDir)
	}
	for _, b := range batches {
		if !match.MatchString(b.Name) {
			continue
		}
		fmt.Fprintf(os.Stderr, "running batch %s …\n", b.Name)
		row, err := runBatch(ctx, root, *binDir, b, *batchN)
		if err != nil {
			return fmt.Errorf("%s: %w", b.Name, err)
		}
		rep.Batches = append(rep.Batches, row)
	}
	if len(rep.Rows) == 0 && len(rep.Comparisons) == 0 && len(rep.Batches) == 0 {
		return errors.New("no scenario matched")
	}
	var w io.Writer = os.Stdout
	var file *os.File
	if *outFile != "" {
		if file, err = os.Create(*outFile); err != nil {
			return err
		}
		defer file.Close()
		w = io.MultiWriter(os.Stdout, file)
	}
	rep.Machine = fmt.Sprintf("%s/%s, %d CPUs%s, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), kernelAndCPU(), runtime.Version())
	rep.Command = strings.Join(append([]string{"pkbench"}, os.Args[1:]...), " ")
	if err := rep.write(w); err != nil {
		return err
	}
	if failed := rep.overBudget(); len(failed) > 0 {
		return fmt.Errorf("over budget: %s", strings.Join(failed, "; "))
	}
	return nil
}

// allScenarios lists every scenario: the example stage's here, then each
// promise's, which its own benchscenario package registers. A new promise
// with scenarios adds its package to this list.
func allScenarios() ([]benchkit.Scenario, []benchkit.Batch) {
	scenarios, batches := exampleScenarios()
	for _, f := range []func() ([]benchkit.Scenario, []benchkit.Batch){
		apiaggregatorbench.Scenarios, natsuserbench.Scenarios, environmentbench.Scenarios,
	} {
		s, b := f()
		scenarios = append(scenarios, s...)
		batches = append(batches, b...)
	}
	return scenarios, batches
}
