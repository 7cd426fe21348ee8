package contract

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/syntasso/kratix/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// argoApplicationSet is the part of Argo CD's ApplicationSet
// (argoproj.io/v1alpha1) the platform bundle uses, decoded strictly: Argo
// CD is not a dependency of this module (its Go module pins Kubernetes
// libraries neither module here can take), so a field this struct lacks
// fails the test rather than pass unchecked. The field names are those of
// Argo CD's ApplicationSet CRD (manifests/crds/applicationset-crd.yaml).
type argoApplicationSet struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		GoTemplate        bool     `json:"goTemplate"`
		GoTemplateOptions []string `json:"goTemplateOptions"`
		Generators        []struct {
			Git *struct {
				RepoURL     string `json:"repoURL"`
				Revision    string `json:"revision"`
				Directories []struct {
					Path    string `json:"path"`
					Exclude bool   `json:"exclude,omitempty"`
				} `json:"directories"`
			} `json:"git"`
		} `json:"generators"`
		Template struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Spec struct {
				Project string `json:"project"`
				Source  struct {
					RepoURL        string `json:"repoURL"`
					TargetRevision string `json:"targetRevision"`
					Path           string `json:"path"`
					Directory      struct {
						Recurse bool `json:"recurse"`
					} `json:"directory"`
				} `json:"source"`
				Destination struct {
					Name      string `json:"name,omitempty"`
					Server    string `json:"server,omitempty"`
					Namespace string `json:"namespace,omitempty"`
				} `json:"destination"`
				SyncPolicy struct {
					Automated struct {
						Prune    bool `json:"prune"`
						SelfHeal bool `json:"selfHeal"`
					} `json:"automated"`
					SyncOptions []string `json:"syncOptions"`
				} `json:"syncPolicy"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

// TestRelease runs `make release` as a maintainer would and checks dist/:
// every Promise file is one Kratix admits, carries the version, and names
// its images by a digest `make images` wrote into dist/images; every
// manifest of the platform bundle decodes strictly into its type (Kratix's
// for GitStateStore and Destination, Kubernetes' for the rest, a local
// struct for Argo CD's ApplicationSet) and sits in the chosen namespace;
// SHA256SUMS covers every file.
func TestRelease(t *testing.T) {
	makeBin, err := exec.LookPath("make")
	if err != nil {
		// The release is the Makefile's: without make there is none to
		// check, which is a failure, not a pass.
		t.Fatal("no make:", err)
	}
	root := repoRoot(t)
	dist := filepath.Join(t.TempDir(), "dist")
	const (
		namespace = "platform-pipelines"
		registry  = "registry.example.com/platform"
		version   = "v9.8.7"
	)
	cmd := exec.Command(makeBin, "-s", "release", "NAMESPACE="+namespace, "REGISTRY="+registry, "VERSION="+version, "DIST="+dist)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make release: %v\n%s", err, out)
	}

	t.Run("promises", func(t *testing.T) {
		promises, err := filepath.Glob(filepath.Join(dist, "*promise.yaml"))
		if err != nil || len(promises) == 0 {
			t.Fatalf("no Promise files in dist/: %v", err)
		}
		image := regexp.MustCompile(`(?m)^\s*(?:- )?image: (\S+)$`)
		ref := regexp.MustCompile(`^` + regexp.QuoteMeta(registry) + `/([a-z0-9-]+):` + regexp.QuoteMeta(version) + `@(sha256:[0-9a-f]{64})$`)
		for _, file := range promises {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			name := filepath.Base(file)
			report := checkPromise(data)
			if len(report.Problems) > 0 {
				t.Errorf("Kratix would refuse %s:\n  %s", name, strings.Join(report.Problems, "\n  "))
				continue
			}
			if got := report.Promise.GetLabels()[v1alpha1.PromiseVersionLabel]; got != version {
				t.Errorf("%s: %s = %q, want %q", name, v1alpha1.PromiseVersionLabel, got, version)
			}
			if report.PipelineNamespace != namespace {
				t.Errorf("%s: pipelineNamespace %q, want %q", name, report.PipelineNamespace, namespace)
			}
			refs := image.FindAllSubmatch(data, -1)
			if len(refs) == 0 {
				t.Errorf("%s names no image", name)
			}
			for _, m := range refs {
				r := ref.FindStringSubmatch(string(m[1]))
				if r == nil {
					t.Errorf("%s: image %s is not %s/<name>:%s@sha256:<digest>", name, m[1], registry, version)
					continue
				}
				if got := layoutDigest(t, filepath.Join(dist, "images", r[1])); got != r[2] {
					t.Errorf("%s: image %s, but dist/images/%s holds %s", name, m[1], r[1], got)
				}
			}
		}
	})

	t.Run("platform", func(t *testing.T) {
		files, err := filepath.Glob(filepath.Join(dist, "platform", "*.yaml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no platform bundle: %v", err)
		}
		kinds := map[string]int{}
		bundled := map[kindName]bool{}
		var store v1alpha1.GitStateStore
		var dests []v1alpha1.Destination
		var appSet argoApplicationSet
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(data, []byte("\n---")) {
				t.Errorf("%s: one object per file", filepath.Base(file))
			}
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(data, &tm); err != nil {
				t.Fatalf("%s: %v", filepath.Base(file), err)
			}
			kinds[tm.Kind]++
			var obj any
			var meta *metav1.ObjectMeta
			namespaced := true
			switch tm.APIVersion + " " + tm.Kind {
			case "v1 Namespace":
				o := &corev1.Namespace{}
				obj, meta, namespaced = o, &o.ObjectMeta, false
			case "v1 ConfigMap":
				o := &corev1.ConfigMap{}
				obj, meta = o, &o.ObjectMeta
			case "v1 Secret":
				o := &corev1.Secret{}
				obj, meta = o, &o.ObjectMeta
			case "v1 ServiceAccount":
				o := &corev1.ServiceAccount{}
				obj, meta = o, &o.ObjectMeta
			case "platform.kratix.io/v1alpha1 GitStateStore":
				obj, meta, namespaced = &store, &store.ObjectMeta, false
			case "platform.kratix.io/v1alpha1 Destination":
				dests = append(dests, v1alpha1.Destination{})
				o := &dests[len(dests)-1]
				obj, meta, namespaced = o, &o.ObjectMeta, false
			case "argoproj.io/v1alpha1 ApplicationSet":
				obj, meta = &appSet, &appSet.Metadata
			default:
				t.Errorf("%s: %s %s is no kind this test knows how to check", filepath.Base(file), tm.APIVersion, tm.Kind)
				continue
			}
			if err := yaml.UnmarshalStrict(data, obj); err != nil {
				t.Errorf("%s: %v", filepath.Base(file), err)
				continue
			}
			bundled[kindName{tm.Kind, meta.Name}] = true
			switch {
			case tm.Kind == "Namespace" && meta.Name != namespace:
				t.Errorf("%s: Namespace %s, want %s", filepath.Base(file), meta.Name, namespace)
			case tm.Kind == "ApplicationSet" && meta.Namespace != "argocd":
				t.Errorf("%s: in namespace %q, want argocd", filepath.Base(file), meta.Namespace)
			case namespaced && tm.Kind != "ApplicationSet" && meta.Namespace != namespace:
				t.Errorf("%s: in namespace %q, want %s", filepath.Base(file), meta.Namespace, namespace)
			case !namespaced && meta.Namespace != "":
				t.Errorf("%s: a cluster-scoped %s with a namespace", filepath.Base(file), tm.Kind)
			}
			if s, ok := obj.(*corev1.Secret); ok && (len(s.Data) > 0 || slices.ContainsFunc(mapsValues(s.StringData), func(v string) bool { return v != "" })) {
				t.Errorf("%s: a Secret template holds a value; the platform fills it from its own files", filepath.Base(file))
			}
		}
		for _, k := range []string{"Namespace", "ConfigMap", "Secret", "ServiceAccount", "GitStateStore", "Destination", "ApplicationSet"} {
			if kinds[k] == 0 {
				t.Errorf("the bundle has no %s", k)
			}
		}
		// Every ConfigMap and Secret the Promises' pipelines mount, and
		// every ServiceAccount they name, has its template in the bundle.
		for obj := range pipelineObjects(t, dist) {
			if !bundled[obj] {
				t.Errorf("the Promises use %s %s; the bundle has no template of it", obj.kind, obj.name)
			}
		}
		for _, d := range dests {
			if d.Spec.StateStoreRef == nil || d.Spec.StateStoreRef.Kind != "GitStateStore" || d.Spec.StateStoreRef.Name != store.Name {
				t.Errorf("Destination %s does not name the bundle's GitStateStore %s", d.Name, store.Name)
			}
		}
		s := appSet.Spec
		if len(s.Generators) != 1 || s.Generators[0].Git == nil || s.Generators[0].Git.RepoURL != store.Spec.URL ||
			s.Generators[0].Git.Revision != store.Spec.Branch || len(s.Generators[0].Git.Directories) != 1 || s.Generators[0].Git.Directories[0].Path != "*" {
			t.Errorf("the ApplicationSet does not generate one Application per top-level directory of %s@%s: %+v", store.Spec.URL, store.Spec.Branch, s.Generators)
		}
		ts := s.Template.Spec
		if ts.Source.RepoURL != store.Spec.URL || !ts.Source.Directory.Recurse || !ts.SyncPolicy.Automated.Prune ||
			!slices.Contains(ts.SyncPolicy.SyncOptions, "SkipDryRunOnMissingResource=true") {
			t.Errorf("the ApplicationSet's template does not sync each directory recursively with pruning and SkipDryRunOnMissingResource=true: %+v", ts)
		}
	})

	t.Run("checksums", func(t *testing.T) {
		f, err := os.Open(filepath.Join(dist, "SHA256SUMS"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		listed := map[string]bool{}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			sum, name, ok := strings.Cut(sc.Text(), "  ")
			if !ok {
				t.Fatalf("SHA256SUMS line %q", sc.Text())
			}
			data, err := os.ReadFile(filepath.Join(dist, name))
			if err != nil {
				t.Errorf("SHA256SUMS lists %s: %v", name, err)
				continue
			}
			got := sha256.Sum256(data)
			if hex.EncodeToString(got[:]) != sum {
				t.Errorf("%s: SHA256SUMS says %s", name, sum)
			}
			listed[name] = true
		}
		err = filepath.Walk(dist, func(p string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dist, p)
			if rel != "SHA256SUMS" && !listed[filepath.ToSlash(rel)] {
				t.Errorf("%s is not in SHA256SUMS", rel)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// layoutDigest is the digest of the one image index an OCI layout's
// index.json names, checked to be among its blobs.
func layoutDigest(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		Manifests []struct {
			MediaType string `json:"mediaType"`
			Digest    string `json:"digest"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 1 || idx.Manifests[0].MediaType != "application/vnd.oci.image.index.v1+json" {
		t.Fatalf("%s/index.json: want one image index, got %+v", dir, idx.Manifests)
	}
	d := idx.Manifests[0].Digest
	blob, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(d, "sha256:")))
	if err != nil {
		t.Fatalf("%s: the index blob: %v", dir, err)
	}
	if sum := sha256.Sum256(blob); "sha256:"+hex.EncodeToString(sum[:]) != d {
		t.Fatalf("%s: blob %s does not hash to its name", dir, d)
	}
	return d
}

// kindName is a namespaced object of the pipeline namespace.
type kindName struct{ kind, name string }

// pipelineObjects are the ConfigMaps and Secrets the Promises in dist
// mount in their pipelines, and the ServiceAccounts they name.
func pipelineObjects(t *testing.T, dist string) map[kindName]bool {
	t.Helper()
	type pipeline struct {
		Spec struct {
			Volumes []corev1.Volume `json:"volumes"`
			RBAC    struct {
				ServiceAccount string `json:"serviceAccount"`
			} `json:"rbac"`
		} `json:"spec"`
	}
	files, err := filepath.Glob(filepath.Join(dist, "*promise.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs := map[kindName]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			Spec struct {
				Workflows struct {
					Resource map[string][]pipeline `json:"resource"`
					Promise  map[string][]pipeline `json:"promise"`
				} `json:"workflows"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(data, &p); err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		for _, byAction := range []map[string][]pipeline{p.Spec.Workflows.Resource, p.Spec.Workflows.Promise} {
			for _, pls := range byAction {
				for _, pl := range pls {
					for _, v := range pl.Spec.Volumes {
						switch {
						case v.ConfigMap != nil:
							objs[kindName{"ConfigMap", v.ConfigMap.Name}] = true
						case v.Secret != nil:
							objs[kindName{"Secret", v.Secret.SecretName}] = true
						}
					}
					if sa := pl.Spec.RBAC.ServiceAccount; sa != "" {
						objs[kindName{"ServiceAccount", sa}] = true
					}
				}
			}
		}
	}
	if len(objs) == 0 {
		t.Fatal("the Promises mount nothing: the pipeline parse is broken")
	}
	return objs
}

func mapsValues(m map[string]string) []string {
	var v []string
	for _, s := range m {
		v = append(v, s)
	}
	return v
}
