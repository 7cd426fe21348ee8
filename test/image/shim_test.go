package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/localrun/localapi"
	"github.com/promisekit/promisekit/pkg/kratix"
)

// The shim: the local runner runs the binary it finds under the image's
// name in its binary directory; for the runc runs that name is a link to
// this test binary, which then, instead of exec'ing the stage, runs the
// image with runc as the kubelet would run the Promise's container. The
// runner's /kratix directories become the container's, and everything else
// comes from the Promise file and the image: so the runner's status merge
// and state-store writes, the same code for both runs, see what the image
// did.

// shimConfig is what the test tells the shim, in the file shimVariable
// names.
type shimConfig struct {
	Runc    string               // runc's absolute path
	Promise string               // the Promise file
	Images  map[string]shimImage // by image name (the binary's name)
	// Volumes holds, per ConfigMap or Secret name, a directory of its keys
	// as the kubelet projects them.
	Volumes map[string]string
	Work    string // bundles and runc's state go below it
	Runs    string // a JSON line per container run is appended to it
}

// shimImage is an unpacked image.
type shimImage struct {
	Rootfs     string
	User       string
	Entrypoint []string
	Env        []string
	WorkingDir string
}

// shimRun records one container run.
type shimRun struct {
	Image    string  `json:"image"`
	Pipeline string  `json:"pipeline"`
	Action   string  `json:"action"`
	Exit     int     `json:"exit"`
	Seconds  float64 `json:"seconds"`
	Written  int     `json:"written"` // files in /kratix/output and /kratix/metadata afterwards
}

// Where the container sees the runner's platform API directory: the local
// stand-in for the API server a Pod reaches with its ServiceAccount.
const containerAPIDir = "/var/run/promisekit/local-api"

func shim(cfgFile string) int {
	code, err := runShim(cfgFile)
	if err != nil {
		fmt.Fprintf(os.Stderr, "image shim: %v\n", err)
		return 125
	}
	return code
}

func runShim(cfgFile string) (int, error) {
	data, err := os.ReadFile(cfgFile)
	if err != nil {
		return 0, err
	}
	var cfg shimConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		return 0, err
	}
	name := filepath.Base(os.Args[0])
	img, ok := cfg.Images[name]
	if !ok {
		return 0, fmt.Errorf("no image %s", name)
	}
	action, pipelineName := os.Getenv("KRATIX_WORKFLOW_ACTION"), os.Getenv("KRATIX_PIPELINE_NAME")
	ctr, vols, err := promiseContainer(cfg.Promise, action, pipelineName, name)
	if err != nil {
		return 0, err
	}
	bundle, err := os.MkdirTemp(cfg.Work, "bundle-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(bundle)
	spec, err := runtimeSpec(cfg, img, bundle, ctr, vols)
	if err != nil {
		return 0, err
	}
	if err := writeSpec(cfg.Runc, bundle, spec); err != nil {
		return 0, err
	}
	cmd := exec.Command(cfg.Runc, "--root", filepath.Join(cfg.Work, "runc-state"), "run", "--bundle", bundle, filepath.Base(bundle))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	start := time.Now()
	err = cmd.Run()
	elapsed := time.Since(start)
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		return 0, fmt.Errorf("runc: %w", err)
	}
	written := 0
	for _, d := range []string{os.Getenv("KRATIX_OUTPUT_DIR"), os.Getenv("KRATIX_METADATA_DIR")} {
		_ = filepath.WalkDir(d, func(_ string, e fs.DirEntry, err error) error {
			if err == nil && !e.IsDir() {
				written++
			}
			return nil
		})
	}
	rec, _ := json.Marshal(shimRun{Image: name, Pipeline: pipelineName, Action: action, Exit: code, Seconds: elapsed.Seconds(), Written: written})
	f, err := os.OpenFile(cfg.Runs, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if _, err := f.Write(append(rec, '\n')); err != nil {
		return 0, err
	}
	return code, nil
}

// promisePipelines is the part of a Promise the shim reads: each
// pipeline's Pod spec, in Kubernetes' own types.
type promisePipelines struct {
	Spec struct {
		Workflows struct {
			Resource map[string][]struct {
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
				Spec struct {
					Containers []corev1.Container `json:"containers"`
					Volumes    []corev1.Volume    `json:"volumes"`
				} `json:"spec"`
			} `json:"resource"`
		} `json:"workflows"`
	} `json:"spec"`
}

// promiseContainer finds the container of the action's pipeline whose
// image is named image, and the pipeline's volumes.
func promiseContainer(file, action, pipeline, image string) (corev1.Container, []corev1.Volume, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return corev1.Container{}, nil, err
	}
	var p promisePipelines
	if err := yaml.Unmarshal(data, &p); err != nil {
		return corev1.Container{}, nil, fmt.Errorf("%s: %w", file, err)
	}
	for _, pl := range p.Spec.Workflows.Resource[action] {
		if pl.Metadata.Name != pipeline {
			continue
		}
		for _, c := range pl.Spec.Containers {
			if imageName(c.Image) == image {
				return c, pl.Spec.Volumes, nil
			}
		}
	}
	return corev1.Container{}, nil, fmt.Errorf("%s: no %s pipeline %s with a container of image %s", file, action, pipeline, image)
}

// imageName is an image reference's last path element, without tag or
// digest: the local runner's binary name.
func imageName(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	name := path.Base(ref)
	name, _, _ = strings.Cut(name, ":")
	return name
}

// runtimeSpec turns the container's securityContext, volume mounts and
// env, the image's config and Kratix's /kratix volumes into changes of
// runc's default spec (`runc spec`, as root: its own namespaces, masked
// paths and mounts).
func runtimeSpec(cfg shimConfig, img shimImage, bundle string, c corev1.Container, volumes []corev1.Volume) (map[string]any, error) {
	sc := c.SecurityContext
	if sc == nil {
		sc = &corev1.SecurityContext{}
	}
	uid, gid, err := imageUser(img.User)
	if err != nil {
		return nil, err
	}
	if sc.RunAsUser != nil {
		uid = *sc.RunAsUser
	}
	if sc.RunAsGroup != nil {
		gid = *sc.RunAsGroup
	}
	if sc.RunAsNonRoot != nil && *sc.RunAsNonRoot && uid == 0 {
		return nil, errors.New("runAsNonRoot, but the container would run as uid 0 (the kubelet refuses to start it)")
	}
	var caps []string
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		return nil, errors.New("the container does not drop ALL capabilities: this test knows no runtime's default set to start from")
	}
	for _, c := range sc.Capabilities.Add {
		caps = append(caps, "CAP_"+string(c))
	}
	if caps == nil {
		caps = []string{}
	}

	// Only what Kratix sets (its KRATIX_* variables, /kratix at the
	// default paths), the container's own env from the Promise file, the
	// image's env, and the runner's clock.
	env := slices.Clone(img.Env)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "KRATIX_INPUT_FILE", k == "KRATIX_OUTPUT_DIR", k == "KRATIX_METADATA_DIR":
		case strings.HasPrefix(k, "KRATIX_"), k == kratix.NowVariable:
			env = append(env, kv)
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			return nil, fmt.Errorf("env %s: valueFrom is not supported here", e.Name)
		}
		env = append(env, e.Name+"="+e.Value)
	}

	// /kratix/*: emptyDirs, world-writable as the kubelet makes them.
	mounts := []any{}
	bind := func(dst, src string, readOnly bool) {
		opts := []string{"rbind", "rw"}
		if readOnly {
			opts = []string{"rbind", "ro"}
		}
		mounts = append(mounts, map[string]any{"destination": dst, "type": "bind", "source": src, "options": opts})
	}
	input := filepath.Dir(os.Getenv("KRATIX_INPUT_FILE"))
	for dst, src := range map[string]string{"/kratix/input": input, "/kratix/output": os.Getenv("KRATIX_OUTPUT_DIR"), "/kratix/metadata": os.Getenv("KRATIX_METADATA_DIR")} {
		if src == "" || src == "." {
			return nil, fmt.Errorf("the runner set no directory for %s", dst)
		}
		if err := os.Chmod(src, 0o777); err != nil {
			return nil, err
		}
		bind(dst, src, false)
	}
	if api := os.Getenv(localapi.Variable); api != "" {
		// The stages write there only what a Pod's ServiceAccount may
		// (environment deletes its own request); the directories must
		// let the image's user do it.
		err := filepath.WalkDir(api, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return err
			}
			return os.Chmod(p, 0o777)
		})
		if err != nil {
			return nil, err
		}
		bind(containerAPIDir, api, false)
		env = append(env, localapi.Variable+"="+containerAPIDir)
	}
	byName := map[string]corev1.Volume{}
	for _, v := range volumes {
		byName[v.Name] = v
	}
	for _, m := range c.VolumeMounts {
		v, ok := byName[m.Name]
		if !ok {
			return nil, fmt.Errorf("volumeMount %s: no such volume", m.Name)
		}
		var source string
		var optional *bool
		switch {
		case v.ConfigMap != nil:
			source, optional = v.ConfigMap.Name, v.ConfigMap.Optional
		case v.Secret != nil:
			source, optional = v.Secret.SecretName, v.Secret.Optional
		default:
			return nil, fmt.Errorf("volume %s: only ConfigMaps and Secrets are supported here", v.Name)
		}
		dir, ok := cfg.Volumes[source]
		if !ok {
			if optional == nil || !*optional {
				return nil, fmt.Errorf("volume %s: %s is missing and not optional (the Pod would not start)", v.Name, source)
			}
			// A missing optional ConfigMap or Secret is an empty volume.
			if dir, err = os.MkdirTemp(bundle, "empty-"); err != nil {
				return nil, err
			}
			if err := os.Chmod(dir, 0o755); err != nil {
				return nil, err
			}
		}
		bind(m.MountPath, dir, m.ReadOnly)
	}

	var seccomp any
	switch {
	case sc.SeccompProfile == nil:
	case sc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault:
		seccomp = runtimeDefaultSeccomp()
	default:
		return nil, fmt.Errorf("seccompProfile %s is not supported here", sc.SeccompProfile.Type)
	}
	readOnly := sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem
	noNewPrivs := sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation
	cwd := img.WorkingDir
	if cwd == "" {
		cwd = "/"
	}
	return map[string]any{
		"process": map[string]any{
			"terminal":        false,
			"user":            map[string]any{"uid": uid, "gid": gid},
			"args":            append(slices.Clone(img.Entrypoint), c.Args...),
			"env":             env,
			"cwd":             cwd,
			"noNewPrivileges": noNewPrivs,
			"capabilities": map[string]any{
				"bounding": caps, "effective": caps, "inheritable": caps, "permitted": caps, "ambient": caps,
			},
		},
		"root":     map[string]any{"path": img.Rootfs, "readonly": readOnly},
		"hostname": "pipeline",
		"mounts":   mounts,
		"seccomp":  seccomp,
	}, nil
}

// runtimeDefaultSeccomp stands in for the runtime's default profile
// (RuntimeDefault): containerd's and Docker's allow a list of syscalls and
// refuse the rest; this refuses, with EPERM as they do, the ones they keep
// from a container without CAP_SYS_ADMIN (namespaces, mounts, modules,
// keyrings, tracing, BPF, clocks, reboot) and allows the rest. A stage
// that needed one of them would fail here as it would on a node. Names a
// platform does not have (vm86 on arm64) are skipped by runc.
func runtimeDefaultSeccomp() map[string]any {
	denied := []string{
		"acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module",
		"finit_module", "get_kernel_syms", "get_mempolicy", "init_module", "ioperm", "iopl", "kcmp",
		"kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mbind", "mount", "move_mount",
		"move_pages", "name_to_handle_at", "nfsservctl", "open_by_handle_at", "open_tree", "perf_event_open",
		"pivot_root", "process_vm_readv", "process_vm_writev", "ptrace", "query_module", "quotactl",
		"reboot", "request_key", "set_mempolicy", "setns", "settimeofday", "stime", "swapoff", "swapon",
		"sysfs", "_sysctl", "umount", "umount2", "unshare", "uselib", "userfaultfd", "ustat", "vm86", "vm86old",
		"fsopen", "fsconfig", "fsmount", "fspick",
	}
	return map[string]any{
		"defaultAction": "SCMP_ACT_ALLOW",
		"architectures": []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"},
		"syscalls":      []any{map[string]any{"names": denied, "action": "SCMP_ACT_ERRNO", "errnoRet": 1}},
	}
}

// imageUser reads the image config's "uid:gid".
func imageUser(s string) (int64, int64, error) {
	var uid, gid int64
	if _, err := fmt.Sscanf(s, "%d:%d", &uid, &gid); err != nil {
		return 0, 0, fmt.Errorf("image user %q is not uid:gid", s)
	}
	return uid, gid, nil
}

// writeSpec writes runc's default spec with the changes into the bundle:
// top-level keys replace, process keys replace, mounts are appended.
func writeSpec(runc, bundle string, changes map[string]any) error {
	if out, err := exec.Command(runc, "spec", "--bundle", bundle).CombinedOutput(); err != nil {
		return fmt.Errorf("runc spec: %v: %s", err, out)
	}
	file := filepath.Join(bundle, "config.json")
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var spec map[string]any
	if err := json.Unmarshal(data, &spec); err != nil {
		return err
	}
	process, _ := spec["process"].(map[string]any)
	for k, v := range changes["process"].(map[string]any) {
		process[k] = v
	}
	mounts, _ := spec["mounts"].([]any)
	spec["mounts"] = append(mounts, changes["mounts"].([]any)...)
	spec["root"], spec["hostname"] = changes["root"], changes["hostname"]
	if sc := changes["seccomp"]; sc != nil {
		linux, _ := spec["linux"].(map[string]any)
		if linux == nil {
			return errors.New("runc spec wrote no linux section")
		}
		linux["seccomp"] = sc
	}
	out, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(file, out, 0o644)
}
