package contract

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/syntasso/kratix/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The Pod Security Standards' "restricted" profile, written out from the
// Kubernetes documentation (content/en/docs/concepts/security/
// pod-security-standards.md: every Baseline control, then the Restricted
// ones). Pod Security Admission evaluates the Pod as created, so the rules
// apply to the whole Pod Kratix makes for a pipeline: Kratix's own reader,
// work-writer and status-writer containers as much as the Promise's. The
// controls that are Linux-only (privilege escalation, seccomp,
// capabilities) apply because pipeline Pods set no spec.os.name.

// safeSysctls are the sysctls Baseline allows.
var safeSysctls = []string{
	"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
	"net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
	"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes",
}

// seLinuxTypes are the SELinux types Baseline allows ("" is unset).
var seLinuxTypes = []string{"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}

// restrictedViolations returns every way a Pod breaks the restricted
// profile, each naming the field.
func restrictedViolations(meta metav1.ObjectMeta, spec corev1.PodSpec) []string {
	var v []string
	bad := func(field, format string, args ...any) {
		v = append(v, field+": "+fmt.Sprintf(format, args...))
	}
	psc := spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}

	// Baseline: HostProcess, host namespaces.
	if w := psc.WindowsOptions; w != nil && w.HostProcess != nil && *w.HostProcess {
		bad("spec.securityContext.windowsOptions.hostProcess", "must be unset or false")
	}
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		bad("spec.hostNetwork/hostPID/hostIPC", "must be unset or false")
	}
	// Baseline: AppArmor (pod field and the annotations).
	if p := psc.AppArmorProfile; p != nil && p.Type != corev1.AppArmorProfileTypeRuntimeDefault && p.Type != corev1.AppArmorProfileTypeLocalhost {
		bad("spec.securityContext.appArmorProfile.type", "%q, want RuntimeDefault or Localhost", p.Type)
	}
	for k, val := range meta.Annotations {
		if strings.HasPrefix(k, "container.apparmor.security.beta.kubernetes.io/") && val != "runtime/default" && !strings.HasPrefix(val, "localhost/") {
			bad("metadata.annotations["+k+"]", "%q, want runtime/default or localhost/*", val)
		}
	}
	// Baseline: SELinux, sysctls.
	checkSELinux := func(field string, o *corev1.SELinuxOptions) {
		if o == nil {
			return
		}
		if !slices.Contains(seLinuxTypes, o.Type) {
			bad(field+".type", "%q is not an allowed type", o.Type)
		}
		if o.User != "" || o.Role != "" {
			bad(field, "user and role must be unset")
		}
	}
	checkSELinux("spec.securityContext.seLinuxOptions", psc.SELinuxOptions)
	for i, s := range psc.Sysctls {
		if !slices.Contains(safeSysctls, s.Name) {
			bad(fmt.Sprintf("spec.securityContext.sysctls[%d].name", i), "%q is not a safe sysctl", s.Name)
		}
	}
	// Restricted: non-root, non-zero user, seccomp at Pod level (each
	// container may instead set its own).
	if psc.RunAsNonRoot != nil && !*psc.RunAsNonRoot {
		bad("spec.securityContext.runAsNonRoot", "must be true or unset")
	}
	if psc.RunAsUser != nil && *psc.RunAsUser == 0 {
		bad("spec.securityContext.runAsUser", "must not be 0")
	}
	podSeccomp := ""
	if psc.SeccompProfile != nil {
		podSeccomp = string(psc.SeccompProfile.Type)
		if podSeccomp != string(corev1.SeccompProfileTypeRuntimeDefault) && podSeccomp != string(corev1.SeccompProfileTypeLocalhost) {
			bad("spec.securityContext.seccompProfile.type", "%q, want RuntimeDefault or Localhost", podSeccomp)
		}
	}

	// Baseline: no hostPath; Restricted: only these volume types.
	for i, vol := range spec.Volumes {
		s := vol.VolumeSource
		if s.ConfigMap == nil && s.CSI == nil && s.DownwardAPI == nil && s.EmptyDir == nil && s.Ephemeral == nil &&
			s.PersistentVolumeClaim == nil && s.Projected == nil && s.Secret == nil {
			bad(fmt.Sprintf("spec.volumes[%d] (%s)", i, vol.Name), "not one of configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret")
		}
	}

	type list struct {
		field string
		cs    []corev1.Container
	}
	ephemeral := make([]corev1.Container, len(spec.EphemeralContainers))
	for i, e := range spec.EphemeralContainers {
		ephemeral[i] = corev1.Container(e.EphemeralContainerCommon)
	}
	for _, l := range []list{{"spec.initContainers", spec.InitContainers}, {"spec.containers", spec.Containers}, {"spec.ephemeralContainers", ephemeral}} {
		for i, c := range l.cs {
			field := fmt.Sprintf("%s[%d] (%s)", l.field, i, c.Name)
			sc := c.SecurityContext
			if sc == nil {
				sc = &corev1.SecurityContext{}
			}
			// Baseline.
			if w := sc.WindowsOptions; w != nil && w.HostProcess != nil && *w.HostProcess {
				bad(field+".securityContext.windowsOptions.hostProcess", "must be unset or false")
			}
			if sc.Privileged != nil && *sc.Privileged {
				bad(field+".securityContext.privileged", "must be unset or false")
			}
			for _, p := range c.Ports {
				if p.HostPort != 0 {
					bad(field+".ports", "hostPort %d: must be unset or 0", p.HostPort)
				}
			}
			for name, h := range map[string]*corev1.ProbeHandler{"livenessProbe": probeHandler(c.LivenessProbe), "readinessProbe": probeHandler(c.ReadinessProbe), "startupProbe": probeHandler(c.StartupProbe)} {
				if hostOf(h) != "" {
					bad(field+"."+name, "host must be unset")
				}
			}
			if lc := c.Lifecycle; lc != nil {
				for name, h := range map[string]*corev1.LifecycleHandler{"postStart": lc.PostStart, "preStop": lc.PreStop} {
					if h != nil && ((h.HTTPGet != nil && h.HTTPGet.Host != "") || (h.TCPSocket != nil && h.TCPSocket.Host != "")) {
						bad(field+".lifecycle."+name, "host must be unset")
					}
				}
			}
			if p := sc.AppArmorProfile; p != nil && p.Type != corev1.AppArmorProfileTypeRuntimeDefault && p.Type != corev1.AppArmorProfileTypeLocalhost {
				bad(field+".securityContext.appArmorProfile.type", "%q, want RuntimeDefault or Localhost", p.Type)
			}
			checkSELinux(field+".securityContext.seLinuxOptions", sc.SELinuxOptions)
			if sc.ProcMount != nil && *sc.ProcMount != corev1.DefaultProcMount {
				bad(field+".securityContext.procMount", "%q, want Default", *sc.ProcMount)
			}
			// Restricted: privilege escalation must be explicitly off.
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				bad(field+".securityContext.allowPrivilegeEscalation", "must be false")
			}
			// Restricted: non-root, here or at Pod level.
			switch {
			case sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot:
				bad(field+".securityContext.runAsNonRoot", "must be true")
			case sc.RunAsNonRoot == nil && (psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot):
				bad(field+".securityContext.runAsNonRoot", "must be true (here or at Pod level)")
			}
			if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
				bad(field+".securityContext.runAsUser", "must not be 0")
			}
			// Restricted: seccomp RuntimeDefault or Localhost, here or at
			// Pod level.
			switch {
			case sc.SeccompProfile != nil:
				if t := sc.SeccompProfile.Type; t != corev1.SeccompProfileTypeRuntimeDefault && t != corev1.SeccompProfileTypeLocalhost {
					bad(field+".securityContext.seccompProfile.type", "%q, want RuntimeDefault or Localhost", t)
				}
			case podSeccomp == "":
				bad(field+".securityContext.seccompProfile", "must be set (here or at Pod level)")
			}
			// Restricted: drop ALL, add at most NET_BIND_SERVICE (Baseline's
			// own list of addable capabilities is wider, so this covers it).
			var add, drop []corev1.Capability
			if sc.Capabilities != nil {
				add, drop = sc.Capabilities.Add, sc.Capabilities.Drop
			}
			if !slices.Contains(drop, "ALL") {
				bad(field+".securityContext.capabilities.drop", "must include ALL")
			}
			for _, c := range add {
				if c != "NET_BIND_SERVICE" {
					bad(field+".securityContext.capabilities.add", "%s: only NET_BIND_SERVICE may be added", c)
				}
			}
		}
	}
	slices.Sort(v)
	return v
}

func probeHandler(p *corev1.Probe) *corev1.ProbeHandler {
	if p == nil {
		return nil
	}
	return &p.ProbeHandler
}

func hostOf(h *corev1.ProbeHandler) string {
	switch {
	case h == nil:
		return ""
	case h.HTTPGet != nil && h.HTTPGet.Host != "":
		return h.HTTPGet.Host
	case h.TCPSocket != nil:
		return h.TCPSocket.Host
	}
	return ""
}

// imageUser is the user every promisekit image runs as (the Dockerfile's
// USER, distroless's nonroot).
const imageUser = 65532

// houseRules are what this repository asks of its own containers beyond
// restricted: the image's user named (so that runAsNonRoot never depends on
// the image's metadata) and a read-only root filesystem (a stage writes
// only to Kratix's /kratix volumes).
func houseRules(c v1alpha1.Container) []string {
	var v []string
	sc := c.SecurityContext
	if sc == nil {
		sc = &corev1.SecurityContext{}
	}
	if sc.RunAsUser == nil || *sc.RunAsUser != imageUser {
		v = append(v, fmt.Sprintf("container %s: securityContext.runAsUser must be %d, the image's user", c.Name, imageUser))
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		v = append(v, fmt.Sprintf("container %s: securityContext.readOnlyRootFilesystem must be true", c.Name))
	}
	return v
}

// teamRequest is a request of p's API in a team's namespace.
func teamRequest(p *v1alpha1.Promise) *unstructured.Unstructured {
	u := webhookDryRunRequest(p)
	u.SetNamespace("team-a")
	u.SetName("some-request")
	return u
}

// forEachPipeline builds, with Kratix's factory, the resources of every
// pipeline of every Promise file in the repository, for a request in a
// team's namespace, and calls fn with them.
func forEachPipeline(t *testing.T, fn func(t *testing.T, file string, report promiseReport, pl v1alpha1.Pipeline, res v1alpha1.PipelineJobResources)) {
	t.Helper()
	root := repoRoot(t)
	files, err := promiseFiles(root)
	if err != nil || len(files) == 0 {
		t.Fatalf("no Promise files: %v", err)
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(root, file))
			if err != nil {
				t.Fatal(err)
			}
			report := checkPromise(data)
			if len(report.Problems) > 0 || report.Promise == nil {
				t.Fatalf("Kratix would refuse it (TestPromiseFiles says why)")
			}
			pipelines, err := v1alpha1.NewPipelinesMap(report.Promise, logr.Discard())
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, typ := range []v1alpha1.Type{v1alpha1.WorkflowTypeResource, v1alpha1.WorkflowTypePromise} {
				for _, action := range []v1alpha1.Action{v1alpha1.WorkflowActionConfigure, v1alpha1.WorkflowActionDelete} {
					for _, pl := range pipelines[typ][action] {
						_, res, err := pipelineResources(report.Promise, &pl, typ, action, teamRequest(report.Promise), report.PipelineNamespace)
						if err != nil {
							t.Fatalf("%s %s pipeline %s: %v", typ, action, pl.GetName(), err)
						}
						fn(t, file, report, pl, res)
						n++
					}
				}
			}
			if n == 0 {
				t.Fatal("no pipeline")
			}
		})
	}
}

// TestPodSecurityRestricted checks the Pod of every pipeline of every
// Promise, as Kratix's factory makes it, against the restricted profile,
// and the Promise's own containers against the house rules.
func TestPodSecurityRestricted(t *testing.T) {
	forEachPipeline(t, func(t *testing.T, _ string, _ promiseReport, pl v1alpha1.Pipeline, res v1alpha1.PipelineJobResources) {
		tmpl := res.Job.Spec.Template
		for _, problem := range restrictedViolations(tmpl.ObjectMeta, tmpl.Spec) {
			t.Errorf("pipeline %s: Pod Security restricted: %s", pl.GetName(), problem)
		}
		for _, c := range pl.Spec.Containers {
			for _, problem := range houseRules(c) {
				t.Errorf("pipeline %s: %s", pl.GetName(), problem)
			}
		}
	})
}

// TestRestrictedRules shows that each control fires, and that a
// compliant Pod passes.
func TestRestrictedRules(t *testing.T) {
	yes, no := true, false
	root, uid := int64(0), int64(imageUser)
	unconfined := corev1.ProcMountType("Unmasked")
	good := func() corev1.PodSpec {
		return corev1.PodSpec{
			Volumes: []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
			Containers: []corev1.Container{{Name: "c", SecurityContext: &corev1.SecurityContext{
				AllowPrivilegeEscalation: &no, RunAsNonRoot: &yes, RunAsUser: &uid,
				Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			}}},
		}
	}
	tests := []struct {
		name string
		edit func(s *corev1.PodSpec, m *metav1.ObjectMeta)
		want string // substring of the one violation; "" for none
	}{
		{name: "compliant"},
		{name: "pod-level runAsNonRoot and seccomp", edit: func(s *corev1.PodSpec, _ *metav1.ObjectMeta) {
			s.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: &yes, SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
			s.Containers[0].SecurityContext.RunAsNonRoot = nil
			s.Containers[0].SecurityContext.SeccompProfile = nil
		}},
		{name: "NET_BIND_SERVICE", edit: func(s *corev1.PodSpec, _ *metav1.ObjectMeta) {
			s.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"NET_BIND_SERVICE"}
		}},
		{name: "hostPath", edit: func(s *corev1.PodSpec, _ *metav1.ObjectMeta) {
			s.Volumes[0].VolumeSource = corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}
		}, want: "spec.volumes[0] (v): not one of"},
		{name: "nfs", edit: func(s *corev1.PodSpec, _ *metav1.ObjectMeta) {
			s.Volumes[0].VolumeSource = corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "x", Path: "/"}}
		}, want: "spec.volumes[0] (v): not one of"},
		{name: "hostNetwork", edit: func(s *corev1.PodSpec, _ *metav1.ObjectMeta) { s.HostNetwork = true }, want: "spec.hostNetwork"},
		{name: "privileged", edit: func(s *corev1.PodSpec, _ *metav1.ObjectMeta) { s.Containers[0].SecurityContext.Privileged = &yes }, want: ".securityContext.privileged"},
		{name: "escalation unset", edit: func(s *corev1.PodSpec, _ *metav1.ObjectMeta) {
			s.Containers[0].SecurityContext.AllowPrivilegeEscalation = nil
		}, want: "allowPrivilegeEscalation: must be false"},
		{name: "runAsNonRoot unset", edit: func(s *corev1.PodSpec, _ *metav1.ObjectMeta) { s.Containers[0].SecurityContext.RunAsNonRoot = nil }, want: "runAsNonRoot: must be true (here or at Pod level)"},
		{name: "runAsNonRoot false over a true Pod", edit: func(s *corev1.PodSpec, _ *metav1.ObjectMeta) {
			s.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: &yes}
			s.Containers[0].SecurityContext.RunAsNonRoot = &no
		}, want: "runAsNonRoot: must be true"},
		{name: "root user", edit: func(s *corev1.PodSpec, _ *metav1.ObjectMeta) { s.Containers[0].SecurityContext.RunAsUser = &root }, want: "runAsUser: must not be 0"},
		{name: "root user at Pod level", edit: func(s *corev1.PodSpec, _ *metav1.ObjectMeta) {
			s.SecurityContext = &corev1.PodSecurityContext{RunAsUser: &root}
		}, want: "spec.securityContext.runAsUser"},
		{name: "no seccomp", edit: func(s *corev1.PodSpec, _ *metav1.ObjectMeta) { s.Containers[0].SecurityContext.SeccompProfile = nil }, want: "seccompProfile: must be set"},
		{name: "unconfined seccomp", edit: func(s *corev1.PodSpec, _ *metav1.ObjectMeta) {
			s.Containers[0].SecurityContext.SeccompProfile.Type = corev1.SeccompProfileTypeUnconfined
		}, want: `seccompProfile.type: "Unconfined"`},
		{name: "capabilities not dropped", edit: func(s *corev1.PodSpec, _ *metav1.ObjectMeta) { s.Containers[0].SecurityContext.Capabilities = nil }, want: "drop: must include ALL"},
		{name: "capability added", edit: func(s *corev1.PodSpec, _ *metav1.ObjectMeta) {
			s.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"CHOWN"}
		}, want: "CHOWN: only NET_BIND_SERVICE"},
		{name: "host port", edit: func(s *corev1.PodSpec, _ *metav1.ObjectMeta) {
			s.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 80}}
		}, want: "hostPort 80"},
		{name: "probe host", edit: func(s *corev1.PodSpec, _ *metav1.ObjectMeta) {
			s.Containers[0].LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Host: "10.0.0.1"}}}
		}, want: "livenessProbe: host must be unset"},
		{name: "procMount", edit: func(s *corev1.PodSpec, _ *metav1.ObjectMeta) { s.Containers[0].SecurityContext.ProcMount = &unconfined }, want: "procMount"},
		{name: "SELinux user", edit: func(s *corev1.PodSpec, _ *metav1.ObjectMeta) {
			s.Containers[0].SecurityContext.SELinuxOptions = &corev1.SELinuxOptions{User: "system_u"}
		}, want: "user and role must be unset"},
		{name: "unsafe sysctl", edit: func(s *corev1.PodSpec, _ *metav1.ObjectMeta) {
			s.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "kernel.msgmax", Value: "1"}}}
		}, want: "kernel.msgmax"},
		{name: "AppArmor unconfined", edit: func(_ *corev1.PodSpec, m *metav1.ObjectMeta) {
			m.Annotations = map[string]string{"container.apparmor.security.beta.kubernetes.io/c": "unconfined"}
		}, want: "apparmor"},
		{name: "init container too", edit: func(s *corev1.PodSpec, _ *metav1.ObjectMeta) {
			s.InitContainers = []corev1.Container{{Name: "i", SecurityContext: s.Containers[0].SecurityContext.DeepCopy()}}
			s.InitContainers[0].SecurityContext.AllowPrivilegeEscalation = &yes
		}, want: "spec.initContainers[0] (i).securityContext.allowPrivilegeEscalation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, m := good(), metav1.ObjectMeta{}
			if tt.edit != nil {
				tt.edit(&s, &m)
			}
			got := restrictedViolations(m, s)
			switch {
			case tt.want == "" && len(got) > 0:
				t.Errorf("violations %q, want none", got)
			case tt.want != "" && (len(got) != 1 || !strings.Contains(got[0], tt.want)):
				t.Errorf("violations %q, want exactly one containing %q", got, tt.want)
			}
		})
	}
}
