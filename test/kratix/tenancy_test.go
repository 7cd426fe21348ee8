package contract

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/syntasso/kratix/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
)

// platformNamespace is the namespace every Promise's pipelines run in
// (spec.workflows.config.pipelineNamespace), which `make promises
// NAMESPACE=...` rewrites.
const platformNamespace = "promisekit-system"

// mounted is an object a pipeline's Pod needs from its namespace.
type mounted struct {
	Kind, Name string
}

func (m mounted) String() string { return m.Kind + " " + m.Name }

// mountedObjects returns the ConfigMaps, Secrets and ServiceAccount a
// pipeline's own spec makes its Pod use (Kratix's own objects aside).
// Kubernetes resolves each in the Pod's namespace. A volume of a kind that
// is not an object of that namespace, or not plain data, is a problem.
func mountedObjects(pl v1alpha1.Pipeline) ([]mounted, []string) {
	var objs []mounted
	var problems []string
	add := func(kind, name string) {
		if m := (mounted{kind, name}); !slices.Contains(objs, m) {
			objs = append(objs, m)
		}
	}
	for _, v := range pl.Spec.Volumes {
		s := v.VolumeSource
		switch {
		case s.ConfigMap != nil:
			add("ConfigMap", s.ConfigMap.Name)
		case s.Secret != nil:
			add("Secret", s.Secret.SecretName)
		case s.Projected != nil:
			for _, src := range s.Projected.Sources {
				switch {
				case src.ConfigMap != nil:
					add("ConfigMap", src.ConfigMap.Name)
				case src.Secret != nil:
					add("Secret", src.Secret.Name)
				case src.DownwardAPI != nil, src.ServiceAccountToken != nil:
				default:
					problems = append(problems, fmt.Sprintf("volume %s: a projected source other than configMap, secret, downwardAPI, serviceAccountToken", v.Name))
				}
			}
		case s.EmptyDir != nil, s.DownwardAPI != nil:
		default:
			problems = append(problems, fmt.Sprintf("volume %s: only configMap, secret, projected, emptyDir and downwardAPI volumes are expected", v.Name))
		}
	}
	for _, c := range pl.Spec.Containers {
		for _, e := range c.Env {
			if f := e.ValueFrom; f != nil {
				if f.ConfigMapKeyRef != nil {
					add("ConfigMap", f.ConfigMapKeyRef.Name)
				}
				if f.SecretKeyRef != nil {
					add("Secret", f.SecretKeyRef.Name)
				}
			}
		}
		for _, e := range c.EnvFrom {
			if e.ConfigMapRef != nil {
				add("ConfigMap", e.ConfigMapRef.Name)
			}
			if e.SecretRef != nil {
				add("Secret", e.SecretRef.Name)
			}
		}
	}
	for _, s := range pl.Spec.ImagePullSecrets {
		add("Secret", s.Name)
	}
	if sa := pl.Spec.RBAC.ServiceAccount; sa != "" {
		add("ServiceAccount", sa)
	}
	return objs, problems
}

// installSection is README.md's "Install" section.
func installSection(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "\n## Install\n")
	if !ok {
		t.Fatal(`README.md has no "## Install" section`)
	}
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// TestPipelinesRunInThePlatformNamespace: every Promise runs its pipelines
// in the platform's namespace (upstream semantics, kratixUpstream), so
// the Job, its ServiceAccount, its Roles and every ConfigMap and Secret it
// mounts are there and never in the requesting team's namespace; and
// README.md's install section lists each of those objects.
func TestPipelinesRunInThePlatformNamespace(t *testing.T) {
	install := installSection(t)
	if !strings.Contains(install, "`"+platformNamespace+"`") {
		t.Errorf("README.md's install section does not name the namespace %s", platformNamespace)
	}
	forEachPipeline(t, func(t *testing.T, file string, report promiseReport, pl v1alpha1.Pipeline, res v1alpha1.PipelineJobResources) {
		if report.PipelineNamespace != platformNamespace {
			t.Fatalf("spec.workflows.config.pipelineNamespace = %q, want %q: pipelines would run in each team's namespace, next to the platform's secrets", report.PipelineNamespace, platformNamespace)
		}
		where := "pipeline " + pl.GetName()
		if ns := res.Job.Namespace; ns != platformNamespace {
			t.Errorf("%s: Job in namespace %q, want %q", where, ns, platformNamespace)
		}
		if sa := res.Shared.ServiceAccount; sa == nil || sa.Namespace != platformNamespace || res.Job.Spec.Template.Spec.ServiceAccountName != sa.Name {
			t.Errorf("%s: ServiceAccount %v is not the Pod's, in %s", where, sa, platformNamespace)
		}
		for _, r := range res.Shared.Roles {
			if r.Namespace != platformNamespace {
				t.Errorf("%s: Role %s in %q, want %q", where, r.Name, r.Namespace, platformNamespace)
			}
		}
		for _, c := range append(slices.Clone(res.Job.Spec.Template.Spec.InitContainers), res.Job.Spec.Template.Spec.Containers...) {
			for _, e := range c.Env {
				if e.Name == v1alpha1.KratixObjectNamespaceEnvVar && e.Value != "team-a" {
					t.Errorf("%s: container %s gets %s=%q, want the request's namespace", where, c.Name, e.Name, e.Value)
				}
			}
		}
		objs, problems := mountedObjects(pl)
		for _, p := range problems {
			t.Errorf("%s: %s", where, p)
		}
		for _, o := range objs {
			if !mentions(install, o) {
				t.Errorf("%s mounts %s from %s, which README.md's install section does not list (a line naming `%s` and %s)", where, o, platformNamespace, o.Name, o.Kind)
			}
		}
		if len(objs) > 0 {
			t.Logf("%s: %s needs %v in %s", file, where, objs, platformNamespace)
		}
	})
}

// mentions reports whether one line of text names o (`name`) and its kind.
func mentions(text string, o mounted) bool {
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, "`"+o.Name+"`") && strings.Contains(line, o.Kind) {
			return true
		}
	}
	return false
}

func TestMountedObjects(t *testing.T) {
	var pl v1alpha1.Pipeline
	pl.Spec.Volumes = []corev1.Volume{
		{Name: "a", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}}},
		{Name: "b", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}},
		{Name: "c", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "d", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}},
	}
	pl.Spec.Containers = []v1alpha1.Container{{Name: "x", Env: []corev1.EnvVar{{Name: "T", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "tok"}}}}}}}
	pl.Spec.RBAC.ServiceAccount = "sa"
	objs, problems := mountedObjects(pl)
	want := []mounted{{"ConfigMap", "cm"}, {"Secret", "s"}, {"Secret", "tok"}, {"ServiceAccount", "sa"}}
	if !slices.Equal(objs, want) || len(problems) != 1 || !strings.Contains(problems[0], "volume d") {
		t.Errorf("objects %v, problems %q; want %v and one problem for volume d", objs, problems, want)
	}
	if !mentions("| `cm` | ConfigMap | x |", mounted{"ConfigMap", "cm"}) || mentions("`cm` Secret", mounted{"ConfigMap", "cm"}) {
		t.Error("mentions does not look for the name and the kind on one line")
	}
}

// TestMakePromises runs `make promises` as a platform would to change the
// namespace, registry and version, and checks that each Promise written is
// still one Kratix admits, with exactly those three changes.
func TestMakePromises(t *testing.T) {
	makeBin, err := exec.LookPath("make")
	if err != nil {
		t.Skip("no make:", err)
	}
	root := repoRoot(t)
	dist := t.TempDir()
	const (
		namespace = "platform-pipelines"
		registry  = "registry.example.com/platform"
		version   = "v9.8.7"
	)
	cmd := exec.Command(makeBin, "-s", "promises", "NAMESPACE="+namespace, "REGISTRY="+registry, "VERSION="+version, "DIST="+dist)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make promises: %v\n%s", err, out)
	}
	sources, err := filepath.Glob(filepath.Join(root, "promises", "*", "*promise.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	written, err := filepath.Glob(filepath.Join(dist, "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != len(sources) {
		t.Errorf("make promises wrote %d files for %d Promise files: %v", len(written), len(sources), written)
	}
	image := regexp.MustCompile(`ghcr\.io/promisekit/([a-z0-9-]+):[A-Za-z0-9._-]+`)
	label := regexp.MustCompile(`(?m)^( +kratix\.io/promise-version:) .*$`)
	nsLine := regexp.MustCompile(`(?m)^( +pipelineNamespace:) ` + platformNamespace + `$`)
	for _, src := range sources {
		name := filepath.Base(src)
		if name == "promise.yaml" {
			name = filepath.Base(filepath.Dir(src)) + "-promise.yaml"
		}
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			out, err := os.ReadFile(filepath.Join(dist, name))
			if err != nil {
				t.Fatal(err)
			}
			want := image.ReplaceAll(in, []byte(registry+"/${1}:"+version))
			want = label.ReplaceAll(want, []byte("${1} "+version))
			want = nsLine.ReplaceAll(want, []byte("${1} "+namespace))
			want = requiredVersions(want, version)
			if string(out) != string(want) {
				t.Errorf("dist/%s is not the source with only the namespace, images and version (label and requiredPromises) changed:\n%s", name, lineDiff(want, out))
			}
			report := checkPromise(out)
			if len(report.Problems) > 0 {
				t.Errorf("Kratix would refuse dist/%s:\n  %s", name, strings.Join(report.Problems, "\n  "))
			}
			if report.PipelineNamespace != namespace {
				t.Errorf("dist/%s: pipelineNamespace %q, want %q", name, report.PipelineNamespace, namespace)
			}
			if got := report.Promise.GetLabels()[v1alpha1.PromiseVersionLabel]; got != version {
				t.Errorf("dist/%s: %s = %q, want %q", name, v1alpha1.PromiseVersionLabel, got, version)
			}
			if strings.Contains(string(out), "ghcr.io/promisekit/") {
				t.Errorf("dist/%s still names ghcr.io/promisekit images", name)
			}
		})
	}
	// Promises are released together: a requirement between two of them
	// names the version make promises wrote (dependencies_test.go).
	files := map[string][]byte{}
	for _, w := range written {
		if files[filepath.Base(w)], err = os.ReadFile(w); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range requirementProblems(files) {
		t.Errorf("make promises VERSION=%s: %s", version, p)
	}

	bad := exec.Command(makeBin, "-s", "promises", "NAMESPACE=Not_A_Namespace", "DIST="+t.TempDir())
	bad.Dir = root
	if out, err := bad.CombinedOutput(); err == nil || !strings.Contains(string(out), "NAMESPACE=Not_A_Namespace is not a namespace name") {
		t.Errorf("make promises NAMESPACE=Not_A_Namespace: %v\n%s", err, out)
	}
}

// requiredVersions sets the version of every spec.requiredPromises entry to
// version, as make promises does for Promises released together: the lines
// "version: ..." between "  requiredPromises:" and the next key of spec.
func requiredVersions(promise []byte, version string) []byte {
	lines := strings.SplitAfter(string(promise), "\n")
	entry := regexp.MustCompile(`^( +version:) .*?(\r?\n)?$`)
	in := false
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "  requiredPromises:"):
			in = true
		case in && len(l) > 2 && l[:2] == "  " && l[2] != ' ' && l[2] != '-' && l[2] != '#':
			in = false
		case in:
			lines[i] = entry.ReplaceAllString(l, "${1} "+version+"${2}")
		}
	}
	return []byte(strings.Join(lines, ""))
}

// lineDiff lists the lines of got that differ from want, for a message.
func lineDiff(want, got []byte) string {
	w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "  line %d: got %q, want %q\n", i+1, gl, wl)
		}
	}
	return b.String()
}
