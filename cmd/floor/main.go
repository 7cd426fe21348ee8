// Command floor is the benchmark baseline: a static Go binary that does
// the least a stage can do, reading the input object and writing one output
// file. A stage's cost is reported as a ratio to this binary's, measured in
// the same run, because absolute times drift on shared machines.
package main

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	in := cmp.Or(os.Getenv("KRATIX_INPUT_FILE"), "/kratix/input/object.yaml")
	out := cmp.Or(os.Getenv("KRATIX_OUTPUT_DIR"), "/kratix/output")
	data, err := os.ReadFile(in)
	if err == nil {
		err = os.WriteFile(filepath.Join(out, "object.yaml"), data, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}
