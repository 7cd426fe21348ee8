// Command rusage runs a command and reports on file descriptor 3 its wall
// time, CPU time and peak resident memory, measured for that process alone:
//
//	<wall ns> <user+system CPU ns> <peak RSS KiB>
//
// pkbench starts every measured binary through it. A Go program starts its
// children with vfork, and Linux charges the parent's resident memory to
// the child's peak RSS until the child execs; pkbench holds tens of MiB, so
// its children would all appear that large. Started from this small process
// instead, a child's peak is its own, plus at most this process's few MiB.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: rusage command [args...] 3>report")
		os.Exit(2)
	}
	report := os.NewFile(3, "report")
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, "rusage:", err)
		os.Exit(2)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	if _, werr := fmt.Fprintf(report, "%d %d %d\n", wall.Nanoseconds(), cpu.Nanoseconds(), ru.Maxrss); werr != nil {
		fmt.Fprintln(os.Stderr, "rusage: writing the report:", werr)
		os.Exit(2)
	}
	os.Exit(cmd.ProcessState.ExitCode())
}
