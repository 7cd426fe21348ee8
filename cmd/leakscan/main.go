// Command leakscan looks for secrets in files and directory trees with
// internal/leakcheck: the shapes of every secret this project handles
// (NATS seeds and credentials, JWTs, bearer and Synadia tokens, private
// keys, AWS secret keys), also inside base64. `make test` runs it over the
// demo's state stores and output, so that what the real binaries write
// through the local runner is checked as the in-process tests' output is.
//
// It names each finding by file, offset and kind, never by its value, and
// exits 1 if there is any.
//
//	leakscan [-skip dir]... path...
package main

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/promisekit/promisekit/internal/leakcheck"
)

type skips []string

func (s *skips) String() string     { return strings.Join(*s, ",") }
func (s *skips) Set(v string) error { *s = append(*s, filepath.Clean(v)); return nil }

func main() {
	var skip skips
	flag.Var(&skip, "skip", "a directory not to scan, such as one holding development keys on purpose (repeatable)")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: leakscan [-skip dir]... path...")
		os.Exit(2)
	}
	var scanner leakcheck.Scanner
	files, findings := 0, 0
	for _, root := range flag.Args() {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && slices.Contains(skip, filepath.Clean(path)) {
				return filepath.SkipDir
			}
			if !d.Type().IsRegular() {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files++
			for _, f := range scanner.Bytes(path, data) {
				fmt.Println("secret:", f)
				findings++
			}
			return nil
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "leakscan:", err)
			os.Exit(2)
		}
	}
	if findings > 0 {
		fmt.Fprintf(os.Stderr, "leakscan: %d secrets in %d files\n", findings, files)
		os.Exit(1)
	}
	fmt.Printf("leakscan: %d files, no secrets\n", files)
}
