package image

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/promisekit/promisekit/internal/golist"
	"github.com/promisekit/promisekit/internal/ociimage"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, COPY...
	args string
}

func parseDockerfile(data []byte) []instruction {
	var out []instruction
	var cur strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		// Continuation lines join with single spaces.
		cmd, args, _ := strings.Cut(strings.Join(strings.Fields(cur.String()), " "), " ")
		out = append(out, instruction{strings.ToUpper(cmd), args})
		cur.Reset()
	}
	return out
}

// dockerfileProblems reads the Dockerfile's last stage and the build stage
// that feeds it: the image must be from scratch, the files `pkimage rootfs`
// writes from the commands `go build` made (with the Makefile's flags),
// the user and entrypoint internal/ociimage declares, and the same three
// labels. It returns what differs.
func dockerfileProblems(data, makefile []byte) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	var stages [][]instruction
	for _, in := range parseDockerfile(data) {
		if in.cmd == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				add("%s before the first FROM", in.cmd)
			}
			continue
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	if len(stages) != 2 {
		add("%d stages, want a build stage and the image", len(stages))
		return problems
	}
	build, final := stages[0], stages[1]
	buildName := regexp.MustCompile(`(?i)\sAS\s+(\S+)$`).FindStringSubmatch(build[0].args)
	if buildName == nil {
		add("the build stage has no name: FROM %s", build[0].args)
		return problems
	}
	if final[0].args != "scratch" {
		add("the image is FROM %s, want scratch: make images starts from nothing", final[0].args)
	}
	var copies []string
	labels := map[string]bool{}
	user, entrypoint := false, false
	for _, in := range final[1:] {
		switch in.cmd {
		case "ARG":
		case "COPY":
			copies = append(copies, in.args)
		case "USER":
			user = true
			if in.args != ociimage.User {
				add("USER %s, want %s", in.args, ociimage.User)
			}
		case "ENTRYPOINT":
			entrypoint = true
			var ep []string
			if err := json.Unmarshal([]byte(in.args), &ep); err != nil || !slices.Equal(ep, ociimage.Entrypoint()) {
				add("ENTRYPOINT %s, want %q (exec form)", in.args, ociimage.Entrypoint())
			}
		case "LABEL":
			for _, m := range regexp.MustCompile(`([a-z.]+)=`).FindAllStringSubmatch(in.args, -1) {
				labels[m[1]] = true
			}
		default:
			add("the image's stage runs %s %s: only COPY, USER, ENTRYPOINT, LABEL and ARG make the same image as make images", in.cmd, in.args)
		}
	}
	if !user || !entrypoint {
		add("the image's stage sets USER: %v, ENTRYPOINT: %v; both must be set", user, entrypoint)
	}
	for _, k := range []string{ociimage.LabelSource, ociimage.LabelRevision, ociimage.LabelVersion} {
		if !labels[k] {
			add("no LABEL %s", k)
		}
	}
	if len(copies) != 1 {
		add("COPY %q: want exactly one, of the rootfs", copies)
		return problems
	}
	cp := regexp.MustCompile(`^--from=(\S+)\s+(\S+)/\s+/$`).FindStringSubmatch(copies[0])
	if cp == nil || cp[1] != buildName[1] {
		add("COPY %s: want --from=%s <rootfs>/ /", copies[0], buildName[1])
		return problems
	}
	var run string
	for _, in := range build {
		if in.cmd == "RUN" && strings.Contains(in.args, "pkimage rootfs") {
			run = in.args
		}
	}
	goBuild := regexp.MustCompile(`go build (-trimpath -ldflags "[^"]+") -o (\S+)/ "\./pipelines/\$\{PIPELINE\}/\.\.\."`).FindStringSubmatch(run)
	rootfsCmd := regexp.MustCompile(`go run \./cmd/pkimage rootfs -pipeline "\$PIPELINE" -bin (\S+) -out (\S+)$`).FindStringSubmatch(run)
	if goBuild == nil || rootfsCmd == nil {
		add("the build stage's RUN does not build ./pipelines/${PIPELINE}/... and write the rootfs with pkimage: %s", run)
		return problems
	}
	if rootfsCmd[1] != goBuild[2] || rootfsCmd[2] != cp[2] {
		add("go build -o %s, pkimage rootfs -bin %s -out %s, COPY %s/: not one chain", goBuild[2], rootfsCmd[1], rootfsCmd[2], cp[2])
	}
	flags := strings.Replace(goBuild[1], "${VERSION}", "$(VERSION)", 1)
	if !bytes.Contains(makefile, []byte("GOFLAGS_BUILD := "+flags+"\n")) {
		add("the Dockerfile builds with %s, not the Makefile's GOFLAGS_BUILD", goBuild[1])
	}
	return problems
}

// TestDockerfileProblemsCatches feeds dockerfileProblems the Dockerfile
// with one thing changed at a time: each change must be reported.
func TestDockerfileProblemsCatches(t *testing.T) {
	root := golist.Root(t)
	data, makefile := read(t, filepath.Join(root, "Dockerfile")), read(t, filepath.Join(root, "Makefile"))
	if p := dockerfileProblems(data, makefile); len(p) > 0 {
		t.Fatalf("the Dockerfile itself: %v", p)
	}
	for name, change := range map[string][2]string{
		"root user":          {"USER 65532:65532", "USER 0:0"},
		"no user":            {"USER 65532:65532\n", ""},
		"a shell base":       {"FROM scratch", "FROM gcr.io/distroless/static-debian12:nonroot"},
		"shell entrypoint":   {`ENTRYPOINT ["/stage"]`, `ENTRYPOINT ["/bin/sh", "-c", "/stage"]`},
		"a second COPY":      {"COPY --from=build /rootfs/ /", "COPY --from=build /rootfs/ /\nCOPY --from=build /out/ /"},
		"a RUN in the image": {"USER 65532:65532", "RUN true\nUSER 65532:65532"},
		"other flags":        {"-s -w -X", "-w -X"},
		"broken chain":       {"-out /rootfs", "-out /elsewhere"},
		"no version label":   {"org.opencontainers.image.version", "org.opencontainers.image.vers"},
	} {
		t.Run(name, func(t *testing.T) {
			if !bytes.Contains(data, []byte(change[0])) {
				t.Fatalf("the Dockerfile has no %q to change", change[0])
			}
			changed := bytes.Replace(data, []byte(change[0]), []byte(change[1]), 1)
			if p := dockerfileProblems(changed, makefile); len(p) == 0 {
				t.Errorf("%q → %q went unnoticed", change[0], change[1])
			}
		})
	}
}

// TestDockerfileDeclaresTheGoRecipe checks the Dockerfile with
// dockerfileProblems, then runs its rootfs command line on each image's
// commands and compares what it wrote with the image `make images` built:
// the same files, modes and bytes.
func TestDockerfileDeclaresTheGoRecipe(t *testing.T) {
	root := golist.Root(t)
	data, makefile := read(t, filepath.Join(root, "Dockerfile")), read(t, filepath.Join(root, "Makefile"))
	for _, p := range dockerfileProblems(data, makefile) {
		t.Error(p)
	}
	if t.Failed() {
		t.FailNow()
	}

	// The Dockerfile's own command line, on an image's commands.
	for _, p := range pipelines(t) {
		t.Run(p, func(t *testing.T) {
			img, err := ociimageHost(t, p)
			if err != nil {
				t.Fatal(err)
			}
			bin := filepath.Join(t.TempDir(), "out")
			if err := extractCommands(img, p, bin); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "rootfs")
			cmd := exec.Command("go", "run", "./cmd/pkimage", "rootfs", "-pipeline", p, "-bin", bin, "-out", out)
			cmd.Dir = root
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", cmd, err, msg)
			}
			docker := map[string]string{}
			err = filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
				if err != nil || path == out {
					return err
				}
				fi, err := d.Info()
				if err != nil {
					return err
				}
				rel := "/" + filepath.ToSlash(strings.TrimPrefix(path, out+string(filepath.Separator)))
				if d.IsDir() {
					docker[rel] = "dir"
					return nil
				}
				content, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				docker[rel] = describe(int64(fi.Mode().Perm()), content)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			goRecipe := map[string]string{}
			err = ociimage.Walk(img, func(e ociimage.Entry, data []byte) error {
				if e.Dir {
					goRecipe[e.Path] = "dir"
				} else {
					goRecipe[e.Path] = describe(e.Mode, data)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for path, want := range goRecipe {
				if got, ok := docker[path]; !ok {
					t.Errorf("%s: in the image, not in the Dockerfile's rootfs", path)
				} else if got != want {
					t.Errorf("%s: Dockerfile's rootfs %s, image %s", path, got, want)
				}
			}
			for path := range docker {
				if _, ok := goRecipe[path]; !ok {
					t.Errorf("%s: in the Dockerfile's rootfs, not in the image", path)
				}
			}
		})
	}
}

func describe(mode int64, data []byte) string {
	return strings.TrimSpace(strings.Join([]string{modeString(mode), digestOf(data)}, " "))
}
