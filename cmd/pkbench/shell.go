package main

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"

	"github.com/promisekit/promisekit/internal/benchkit"
	"github.com/promisekit/promisekit/internal/devkeys"
)

// A Comparison times the status quo, a shell-script stage driving CLIs
// (bench/shell/*.sh), against our Go stage for the same request, and both
// against the floor binary, interleaved in one run so that all three see the
// same machine.
type Comparison struct {
	Name   string
	Binary string // our stage, under the bin directory
	Script string // the shell stage, relative to the repository root
	// Prepare returns our stage's invocation and the script's own
	// environment (the files it reads, such as a certificate). The script
	// runs on the same object, with the same Kratix variables and
	// directories, plus this environment and the CLIs' paths.
	Prepare func(ctx context.Context, ws *benchkit.Workspace) (benchkit.Invocation, map[string]string, error)
	// Bar: our stage at least MinShellRatio times faster in wall time than
	// the shell equivalent, and within MaxFloorRatio of the floor.
	MinShellRatio, MaxFloorRatio float64
}

// The bars. A stage that renders ytt templates pays for compiling them in
// every fresh process (issue 13 set its bar: at least 3x faster than the
// shell stage, within 5x the floor); the others are held to the bar they
// have met since they were written.
const (
	yttShellRatio, yttFloorRatio   = 3, 5
	leanShellRatio, leanFloorRatio = 6, 3
)

// shellTools are the CLIs the scripts drive, as `make bench` builds them
// from bench/shell/tools into <bin>/shell/, and the variable naming each.
var shellTools = []struct{ name, env string }{
	{"ytt", "YTT"}, {"yq", "YQ"}, {"kubeseal", "KUBESEAL"},
}

// scriptPATH is the only search path a script gets, for the few coreutils
// it uses (mktemp, rm); the CLIs it gets by absolute path, so that a
// developer's own yq or ytt never stands in for the pinned ones.
const scriptPATH = "/usr/bin:/bin"

// comparisons are the shell stages of issue 6 (bench/shell), each against
// the Go stage that does the same work.
func comparisons() []Comparison {
	return []Comparison{{
		Name:          "apiaggregatortarget configure, shell (bash + yq + ytt) vs Go",
		Binary:        "apiaggregator",
		Script:        "bench/shell/apiaggregatortarget.sh",
		MinShellRatio: yttShellRatio,
		MaxFloorRatio: yttFloorRatio,
		Prepare: func(ctx context.Context, ws *benchkit.Workspace) (benchkit.Invocation, map[string]string, error) {
			// The platform API off: the Go stage then reads nothing
			// outside, as the script reads nothing, and both write the
			// same documents.
			config := filepath.Join(ws.Dir, "apiaggregator.yaml")
			if err := os.WriteFile(config, []byte("platformAPI: \"off\"\n"), 0o644); err != nil {
				return benchkit.Invocation{}, nil, err
			}
			inv, err := benchkit.FirstConfigure(ws.Root, "promises/apiaggregator/apiaggregatortarget-promise.yaml",
				"promises/apiaggregator/examples/orders.yaml", map[string]string{"PROMISEKIT_CONFIG": config})
			if err != nil {
				return benchkit.Invocation{}, nil, err
			}
			return inv, map[string]string{"TEMPLATES_DIR": filepath.Join(ws.Root, "promises/apiaggregator/templates")}, nil
		},
	}, {
		Name:          "natsuser steady-state re-run, shell (bash + yq + kubeseal) vs Go",
		Binary:        "natsuser",
		Script:        "bench/shell/natsuser-steady.sh",
		MinShellRatio: leanShellRatio,
		MaxFloorRatio: leanFloorRatio,
		Prepare: func(ctx context.Context, ws *benchkit.Workspace) (benchkit.Invocation, map[string]string, error) {
			// A 4096-bit sealing key, as the controller makes; the same
			// certificate for both stages.
			keys, err := devkeys.Generate(filepath.Join(ws.Dir, "keys"), devkeys.Options{})
			if err != nil {
				return benchkit.Invocation{}, nil, err
			}
			inv, err := benchkit.FirstConfigure(ws.Root, "promises/natsuser/promise.yaml", "promises/natsuser/examples/orders-api.yaml", keys.Env())
			if err != nil {
				return benchkit.Invocation{}, nil, err
			}
			// One run creates the user; the timed run is the scheduled
			// re-run after it.
			if inv, err = ws.Converge(ctx, "natsuser", inv, 1); err != nil {
				return benchkit.Invocation{}, nil, err
			}
			creds, err := writeUserCreds(ws.Dir, keys)
			if err != nil {
				return benchkit.Invocation{}, nil, err
			}
			return inv, map[string]string{"SEALING_CERT": keys.CertificateFile, "NATS_CREDS_FILE": creds}, nil
		},
	}}
}

// writeUserCreds writes a NATS credentials file (user JWT and seed) signed
// by the devkeys account's signing key, valid for the stage's default 30
// days: what a shell stage would fetch on every run. It is generated here so
// that nothing secret is committed.
func writeUserCreds(dir string, keys *devkeys.Keys) (string, error) {
	seed, err := os.ReadFile(keys.SigningKeyFile)
	if err != nil {
		return "", err
	}
	signer, err := nkeys.FromSeed(bytes.TrimSpace(seed))
	if err != nil {
		return "", fmt.Errorf("%s: %w", keys.SigningKeyFile, err)
	}
	user, err := nkeys.CreateUser()
	if err != nil {
		return "", err
	}
	userPub, err := user.PublicKey()
	if err != nil {
		return "", err
	}
	claims := jwt.NewUserClaims(userPub)
	claims.Name = "kratix.team-orders.orders-api"
	claims.IssuerAccount = keys.AccountPublicKey
	claims.Expires = benchkit.Now.Add(30 * 24 * time.Hour).Unix()
	token, err := claims.Encode(signer)
	if err != nil {
		return "", err
	}
	userSeed, err := user.Seed()
	if err != nil {
		return "", err
	}
	creds, err := jwt.FormatUserConfig(token, userSeed)
	if err != nil {
		return "", err
	}
	file := filepath.Join(dir, "fetched", "user.creds")
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return "", err
	}
	return file, os.WriteFile(file, creds, 0o600)
}

// comparisonRow is one comparison's figures.
type comparisonRow struct {
	name                         string
	shell, ours, floor           stats
	minShellRatio, maxFloorRatio float64
}

func (r comparisonRow) shellRatio() float64 { return float64(r.shell.wall) / float64(r.ours.wall) }
func (r comparisonRow) floorRatio() float64 { return float64(r.ours.wall) / float64(r.floor.wall) }

func (r comparisonRow) verdict() string {
	var fails []string
	if r.minShellRatio <= 0 || r.maxFloorRatio <= 0 {
		fails = append(fails, "the comparison sets no bar")
	}
	if r.shellRatio() < r.minShellRatio {
		fails = append(fails, fmt.Sprintf("shell only %.1fx slower, want ≥ %gx", r.shellRatio(), r.minShellRatio))
	}
	if r.floorRatio() > r.maxFloorRatio {
		fails = append(fails, fmt.Sprintf("%.2fx the floor, want ≤ %gx", r.floorRatio(), r.maxFloorRatio))
	}
	if len(fails) > 0 {
		return "over: " + strings.Join(fails, ", ")
	}
	return fmt.Sprintf("within ≥ %gx, ≤ %gx", r.minShellRatio, r.maxFloorRatio)
}

// timeComparison runs the shell stage, our stage and the floor n times each
// (after a few untimed warm-up rounds), in one pod and interleaved: each
// round runs all three, starting with a different one each time so that
// none always follows the heaviest.
func timeComparison(ctx context.Context, root, binDir string, c Comparison, n int) (comparisonRow, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ws, err := newWorkspace(root, binDir)
	if err != nil {
		return comparisonRow{}, err
	}
	defer os.RemoveAll(ws.Dir)
	inv, scriptEnv, err := c.Prepare(ctx, ws)
	if err != nil {
		return comparisonRow{}, fmt.Errorf("preparing: %w", err)
	}
	shell, err := shellContender(ws, c.Script, scriptEnv)
	if err != nil {
		return comparisonRow{}, err
	}
	contenders := []contender{shell, {argv: []string{filepath.Join(ws.BinDir, c.Binary)}}, {argv: []string{filepath.Join(ws.BinDir, "floor")}}}
	p, err := benchkit.NewPod(ws.Dir, inv.Object)
	if err != nil {
		return comparisonRow{}, err
	}
	const warmup = 3
	samples := make([][]sample, len(contenders))
	for i := range n + warmup {
		for j := range contenders {
			k := (i + j) % len(contenders)
			s, err := contenders[k].run(ctx, p, inv, filepath.Join(ws.BinDir, "rusage"))
			if err != nil {
				return comparisonRow{}, err
			}
			if i >= warmup {
				samples[k] = append(samples[k], s)
			}
		}
	}
	return comparisonRow{name: c.Name, shell: summarise(samples[0]), ours: summarise(samples[1]), floor: summarise(samples[2]),
		minShellRatio: c.MinShellRatio, maxFloorRatio: c.MaxFloorRatio}, nil
}

// A contender is a command a comparison runs in the pod, as Kratix would
// start it: Kratix's variables and directories, the invocation's
// environment, and env on top.
type contender struct {
	argv []string
	env  map[string]string
}

// shellContender is a script run as `bash <script>`, given the CLIs' paths.
func shellContender(ws *benchkit.Workspace, script string, extra map[string]string) (contender, error) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		return contender{}, err
	}
	c := contender{argv: []string{bash, filepath.Join(ws.Root, script)}, env: map[string]string{"PATH": scriptPATH}}
	for _, t := range shellTools {
		path := filepath.Join(ws.BinDir, "shell", t.name)
		if _, err := os.Stat(path); err != nil {
			return contender{}, fmt.Errorf("%w (make bench builds it from bench/shell/tools)", err)
		}
		c.env[t.env] = path
	}
	maps.Copy(c.env, extra)
	return c, nil
}

func (c contender) command(ctx context.Context, p *benchkit.Pod, inv benchkit.Invocation) *exec.Cmd {
	cmd := p.Command(ctx, c.argv[0], inv)
	cmd.Args = slices.Clone(c.argv)
	for _, k := range slices.Sorted(maps.Keys(c.env)) {
		cmd.Env = append(cmd.Env, k+"="+c.env[k])
	}
	return cmd
}

// run runs c once in p through the rusage launcher and measures it.
func (c contender) run(ctx context.Context, p *benchkit.Pod, inv benchkit.Invocation, launcher string) (sample, error) {
	return runCommand(p, c.command(ctx, p, inv), launcher)
}

// shellToolVersions names the version of bash and of each CLI, the latter
// read from the module versions the binaries record.
func shellToolVersions(binDir string) string {
	var out []string
	if v, err := exec.Command("bash", "-c", "echo $BASH_VERSION").Output(); err == nil {
		out = append(out, "bash "+strings.TrimSpace(string(v)))
	}
	for _, t := range shellTools {
		bi, err := buildinfo.ReadFile(filepath.Join(binDir, "shell", t.name))
		if err != nil {
			out = append(out, t.name+" (unknown version)")
			continue
		}
		// The command's module is the main module when built as
		// bench/shell/tools builds it, a dependency otherwise.
		version := "(unknown version)"
		for _, m := range append([]*debug.Module{&bi.Main}, bi.Deps...) {
			if bi.Path == m.Path || strings.HasPrefix(bi.Path, m.Path+"/") {
				version = m.Version
			}
		}
		out = append(out, fmt.Sprintf("%s %s (%s)", t.name, version, bi.GoVersion))
	}
	return strings.Join(out, ", ")
}
