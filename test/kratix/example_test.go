package contract

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/syntasso/kratix/api/v1alpha1"
	"github.com/syntasso/kratix/lib/compression"
	"github.com/syntasso/kratix/lib/resourceutil"
	"github.com/syntasso/kratix/work-creator/lib"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/yaml"
)

const (
	examplePromise = "test/example/promise.yaml"
	exampleRequest = "test/example/examples/greeting.yaml"
	// runClock is the run's time for kratix-run; the example stage uses none.
	runClock = "2026-11-01T09:00:00Z"
)

// priorStatus is the request's status before the run: the stage's own
// state from earlier runs, a key another controller owns, and conditions,
// one of them Kratix's.
const priorStatus = `
message: greeting "Howdy" with 2 replicas
greeting: {schemaVersion: 1, firstGreeting: Howdy, lastGreeting: Howdy, changes: 3}
team: {owner: platform-team, tier: gold}
conditions:
  - {type: Ready, status: "True", reason: Configured, message: ready, lastTransitionTime: "2026-10-01T08:00:00Z"}
  - {type: ConfigureWorkflowCompleted, status: "True", reason: PipelinesExecutedSuccessfully, message: Pipelines completed, lastTransitionTime: "2026-10-01T08:00:00Z"}
`

// pod is one run's /kratix directories.
type pod struct {
	input, output, metadata string
}

// TestExampleStage runs the example stage's binary with the environment
// Kratix's PipelineFactory gives its container, then feeds what it wrote to
// Kratix's selector parser, status merge and work creation, and compares
// kratix-run's handling of the same request with Kratix's.
func TestExampleStage(t *testing.T) {
	root := repoRoot(t)
	binDir := t.TempDir()
	// kratix-run maps image ghcr.io/promisekit/example to bin-dir/example.
	stage := buildCommand(t, root, "./test/example/cmd/example", binDir)
	runner := buildCommand(t, root, "./cmd/kratix-run", binDir)

	promise, pipelineNamespace := readPromise(t, filepath.Join(root, examplePromise))
	request := readRequest(t, filepath.Join(root, exampleRequest))
	setStatus(t, request, priorStatus)
	pipeline := firstPipeline(t, promise, v1alpha1.WorkflowTypeResource, v1alpha1.WorkflowActionConfigure)

	// What Kratix does to the object before the first pipeline
	// (lib/workflow/reconciler.go setConfigureWorkflowCompletedConditionStatus).
	input := request.DeepCopy()
	resourceutil.SetStatus(input, logr.Discard(), "message", "Pending")
	resourceutil.MarkConfigureWorkflowAsRunning(logr.Discard(), input)
	resourceutil.MarkReconciledPending(input, "WorkflowPending")

	// Built as Kratix builds it for the Promise's pipeline namespace
	// (pipelineResources): the Pod runs there, and its containers still
	// get the request's own namespace in KRATIX_OBJECT_NAMESPACE.
	_, resources, err := pipelineResources(promise, pipeline, v1alpha1.WorkflowTypeResource, v1alpha1.WorkflowActionConfigure, input, pipelineNamespace)
	if err != nil {
		t.Fatal(err)
	}
	p := runAsKratix(t, stage, resources.Job.Spec.Template.Spec.InitContainers, pipeline.Spec.Containers[0].Name, input)
	statusYAML, err := os.ReadFile(filepath.Join(p.metadata, "status.yaml"))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("destination selectors", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(p.metadata, "destination-selectors.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := lib.ParseDestinationSelectors(data)
		if err != nil {
			t.Fatalf("Kratix refuses the stage's destination-selectors.yaml: %v\n%s", err, data)
		}
		want := []v1alpha1.WorkflowDestinationSelectors{{Directory: "dev", MatchLabels: map[string]string{"environment": "dev"}}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ParseDestinationSelectors() = %+v, want %+v", got, want)
		}
	})

	// Both sides start from the prior status with message "Pending". The
	// conditions Kratix sets before a pipeline (ConfigureWorkflowCompleted
	// False, Reconciled Unknown) last only while it runs: kratix-run does
	// not show them, and the stage does not read them.
	existing := decodeStatus(t, priorStatus)
	existing["message"] = "Pending"
	incoming := decodeStatus(t, string(statusYAML))
	want := lib.MarkAsCompleted(lib.MergeStatuses(existing, incoming))

	store := t.TempDir()
	storedFile := filepath.Join(store, ".platform", "example.promisekit.dev", "greetings", request.GetNamespace(), request.GetName()+".yaml")
	writeYAML(t, storedFile, request.Object)
	runBinary(t, runner, os.Environ(),
		"--promise", filepath.Join(root, examplePromise),
		"--request", filepath.Join(root, exampleRequest),
		"--state-store", store, "--bin-dir", binDir, "--now", runClock)

	t.Run("status merge", func(t *testing.T) {
		var stored map[string]any
		if err := yaml.Unmarshal(readFile(t, storedFile), &stored); err != nil {
			t.Fatal(err)
		}
		got, _ := stored["status"].(map[string]any)
		if g, w := normalizeStatus(t, got), normalizeStatus(t, want); !reflect.DeepEqual(g, w) {
			t.Errorf("kratix-run stored status\n%s\nKratix's MergeStatuses and MarkAsCompleted give\n%s", toYAML(t, g), toYAML(t, w))
		}
	})

	t.Run("work creation and state store layout", func(t *testing.T) {
		work := createWork(t, p, resources, request)
		checkWork(t, work, p)
		checkLayout(t, work, store, request)
	})

	t.Run("delete pipeline", func(t *testing.T) {
		pipeline := firstPipeline(t, promise, v1alpha1.WorkflowTypeResource, v1alpha1.WorkflowActionDelete)
		_, resources, err := pipelineResources(promise, pipeline, v1alpha1.WorkflowTypeResource, v1alpha1.WorkflowActionDelete, request, pipelineNamespace)
		if err != nil {
			t.Fatal(err)
		}
		// In the pinned Kratix the last container of a delete pipeline is
		// the Pod's main container, and no status-writer follows it
		// (PipelineFactory.pipelineJob): the message a delete stage
		// writes is not applied. Newer Kratix adds one.
		main := resources.Job.Spec.Template.Spec.Containers
		last := pipeline.Spec.Containers[len(pipeline.Spec.Containers)-1].Name
		if len(main) != 1 || main[0].Name != last {
			t.Errorf("delete Job's main containers = %v, want only %q", containerNames(main), last)
		}
		p := runAsKratix(t, stage, main, last, request)
		if out := readTree(t, p.output); len(out) > 0 {
			t.Errorf("delete stage wrote output %q; Kratix ignores it", slices.Sorted(maps.Keys(out)))
		}
		if got, want := string(readFile(t, filepath.Join(p.metadata, "status.yaml"))), "message: greeting hello removed\n"; got != want {
			t.Errorf("status.yaml = %q, want %q", got, want)
		}
	})
}

func containerNames(list []corev1.Container) []string {
	names := make([]string, len(list))
	for i, c := range list {
		names[i] = c.Name
	}
	return names
}

// runAsKratix runs bin as the named container of a Kratix pipeline Pod:
// with exactly the environment Kratix's PipelineFactory gave that
// container, and /kratix moved into a temporary directory through the
// KRATIX_INPUT_FILE, KRATIX_OUTPUT_DIR and KRATIX_METADATA_DIR overrides.
func runAsKratix(t *testing.T, bin string, containers []corev1.Container, name string, obj *unstructured.Unstructured) pod {
	t.Helper()
	return runAfter(t, bin, containers, name, obj, nil)
}

// runAfter is runAsKratix in a Pod where earlier containers of the
// pipeline left the given files in /kratix/metadata.
func runAfter(t *testing.T, bin string, containers []corev1.Container, name string, obj *unstructured.Unstructured, earlier map[string]string) pod {
	t.Helper()
	i := slices.IndexFunc(containers, func(c corev1.Container) bool { return c.Name == name })
	if i < 0 {
		t.Fatalf("Kratix's Job has no container %q", name)
	}
	dir := t.TempDir()
	p := pod{
		input:    filepath.Join(dir, "input", "object.yaml"),
		output:   filepath.Join(dir, "output"),
		metadata: filepath.Join(dir, "metadata"),
	}
	writeYAML(t, p.input, obj.Object)
	for _, d := range []string{p.output, p.metadata} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var env []string
	for _, e := range containers[i].Env {
		if e.ValueFrom != nil {
			t.Fatalf("container %s: env %s comes from %v, which this test cannot resolve", name, e.Name, e.ValueFrom)
		}
		env = append(env, e.Name+"="+e.Value)
	}
	for file, content := range earlier {
		writeFile(t, filepath.Join(p.metadata, file), []byte(content))
	}
	env = append(env, "KRATIX_INPUT_FILE="+p.input, "KRATIX_OUTPUT_DIR="+p.output, "KRATIX_METADATA_DIR="+p.metadata)
	runBinary(t, bin, env)
	return p
}

// createWork runs Kratix's work creator on the stage's output, with the
// directory layout of its work-writer container (PipelineFactory
// workCreatorContainer: output at input/, metadata at metadata/, the
// Promise's scheduling ConfigMap at kratix-system/).
func createWork(t *testing.T, p pod, resources v1alpha1.PipelineJobResources, request *unstructured.Unstructured) *v1alpha1.Work {
	t.Helper()
	root := t.TempDir()
	if err := os.CopyFS(filepath.Join(root, "input"), os.DirFS(p.output)); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(root, "metadata"), os.DirFS(p.metadata)); err != nil {
		t.Fatal(err)
	}
	scheduling := resources.Shared.ConfigMap.Data["destinationSelectors"]
	writeFile(t, filepath.Join(root, "kratix-system", "promise-scheduling"), []byte(scheduling))

	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	// Execute reads nothing but existing Works, to update one in place.
	client := fake.NewClientBuilder().WithScheme(scheme).Build()
	creator := lib.WorkCreator{K8sClient: client}
	if err := creator.Execute(root, "greeting", request.GetNamespace(), request.GetName(), string(v1alpha1.WorkflowTypeResource), "greet"); err != nil {
		t.Fatalf("WorkCreator.Execute: %v", err)
	}
	var works v1alpha1.WorkList
	if err := client.List(context.Background(), &works); err != nil {
		t.Fatal(err)
	}
	if len(works.Items) != 1 {
		t.Fatalf("work creator made %d Works, want 1", len(works.Items))
	}
	return &works.Items[0]
}

// checkWork compares the Work's workload groups with the stage's output:
// one group per selector directory, scheduled by the stage's selector, and
// the default group with the rest.
func checkWork(t *testing.T, work *v1alpha1.Work, p pod) {
	t.Helper()
	if work.Namespace != "team-a" || work.Spec.PromiseName != "greeting" || work.Spec.ResourceName != "hello" {
		t.Errorf("Work %s/%s for %s/%s, want team-a, greeting/hello", work.Namespace, work.Name, work.Spec.PromiseName, work.Spec.ResourceName)
	}
	type group struct {
		Directory, ID string
		Selectors     []v1alpha1.WorkloadGroupScheduling
		Files         map[string]string
	}
	var got []group
	for _, g := range work.Spec.WorkloadGroups {
		files := map[string]string{}
		for _, w := range g.Workloads {
			content, err := compression.DecompressContent([]byte(w.Content))
			if err != nil {
				t.Fatalf("workload %s: %v", w.Filepath, err)
			}
			files[w.Filepath] = string(content)
		}
		got = append(got, group{g.Directory, g.ID, g.DestinationSelectors, files})
	}
	out := readTree(t, p.output)
	want := []group{
		{
			Directory: "dev",
			ID:        md5Hex("dev"),
			Selectors: []v1alpha1.WorkloadGroupScheduling{{MatchLabels: map[string]string{"environment": "dev"}, Source: "resource-workflow"}},
			// A group's file paths keep the directory.
			Files: map[string]string{"dev/serviceaccount_team-a_hello.yaml": out["dev/serviceaccount_team-a_hello.yaml"]},
		},
		{
			Directory: ".",
			ID:        md5Hex("."),
			Files:     map[string]string{"configmap_team-a_hello.yaml": out["configmap_team-a_hello.yaml"]},
		},
	}
	if len(out) != 2 || out["dev/serviceaccount_team-a_hello.yaml"] == "" || out["configmap_team-a_hello.yaml"] == "" {
		t.Fatalf("the stage wrote %q, want a ConfigMap and, under dev/, a ServiceAccount", slices.Sorted(maps.Keys(out)))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Work's workload groups:\n%s\nwant\n%s", toYAML(t, got), toYAML(t, want))
	}
}

// checkLayout compares the files kratix-run put in its state store with
// where Kratix's writer puts a Work's files: internal/controller/
// workplacement_controller.go getDir gives
// resources/<ns>/<promise>/<name>/<pipeline>/<first 5 of the group ID>,
// and lib/writers/git.go update writes each workload at that directory
// joined with its Filepath. kratix-run has one destination, worker-1,
// labelled environment=dev, which every group here matches.
func checkLayout(t *testing.T, work *v1alpha1.Work, store string, request *unstructured.Unstructured) {
	t.Helper()
	want := map[string]string{}
	for _, g := range work.Spec.WorkloadGroups {
		dir := path.Join("worker-1", "resources", request.GetNamespace(), work.Spec.PromiseName, work.Spec.ResourceName, "greet", g.ID[:5])
		for _, w := range g.Workloads {
			content, err := compression.DecompressContent([]byte(w.Content))
			if err != nil {
				t.Fatal(err)
			}
			want[path.Join(dir, w.Filepath)] = string(content)
		}
	}
	got := readTree(t, store)
	for name := range got {
		if strings.HasPrefix(name, ".platform/") {
			delete(got, name)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("kratix-run wrote\n  %s\nKratix's writer would write\n  %s",
			strings.Join(slices.Sorted(maps.Keys(got)), "\n  "), strings.Join(slices.Sorted(maps.Keys(want)), "\n  "))
	}
}

// normalizeStatus makes two statuses comparable: JSON types, conditions in
// type order (Kratix's mergeConditions returns them in map order) and no
// ConfigureWorkflowCompleted time (Kratix's MarkAsCompleted takes the
// wall clock).
func normalizeStatus(t *testing.T, status map[string]any) map[string]any {
	t.Helper()
	js, err := json.Marshal(status)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(js, &out); err != nil {
		t.Fatal(err)
	}
	conds, _ := out["conditions"].([]any)
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == "ConfigureWorkflowCompleted" {
			delete(m, "lastTransitionTime")
		}
	}
	slices.SortFunc(conds, func(a, b any) int {
		ta, _ := a.(map[string]any)["type"].(string)
		tb, _ := b.(map[string]any)["type"].(string)
		return strings.Compare(ta, tb)
	})
	return out
}

// readPromise decodes a Promise file as checkPromise does: strictly with
// the pinned types, the fields newer than the pin checked against upstream
// and returned apart (its pipeline namespace, "" if unset).
func readPromise(t *testing.T, file string) (*v1alpha1.Promise, string) {
	t.Helper()
	report := checkPromise(readFile(t, file))
	if len(report.Problems) > 0 || report.Promise == nil {
		t.Fatalf("%s: Kratix would refuse it:\n  %s", file, strings.Join(report.Problems, "\n  "))
	}
	return report.Promise, report.PipelineNamespace
}

// readRequest reads a request and gives it what the API server would on
// create.
func readRequest(t *testing.T, file string) *unstructured.Unstructured {
	t.Helper()
	var obj map[string]any
	if err := yaml.Unmarshal(readFile(t, file), &obj); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetUID("6f1c2a4e-0d3b-4c59-9a4e-1b2c3d4e5f60")
	u.SetGeneration(1)
	return u
}

func setStatus(t *testing.T, u *unstructured.Unstructured, statusYAML string) {
	t.Helper()
	u.Object["status"] = decodeStatus(t, statusYAML)
}

func decodeStatus(t *testing.T, statusYAML string) map[string]any {
	t.Helper()
	var status map[string]any
	if err := yaml.Unmarshal([]byte(statusYAML), &status); err != nil {
		t.Fatal(err)
	}
	return status
}

func firstPipeline(t *testing.T, p *v1alpha1.Promise, typ v1alpha1.Type, action v1alpha1.Action) *v1alpha1.Pipeline {
	t.Helper()
	pipelines, err := v1alpha1.NewPipelinesMap(p, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	list := pipelines[typ][action]
	if len(list) == 0 {
		t.Fatalf("promise %s has no %s %s pipeline", p.Name, typ, action)
	}
	return &list[0]
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func readFile(t *testing.T, file string) []byte {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func writeFile(t *testing.T, file string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeYAML(t *testing.T, file string, v any) {
	t.Helper()
	writeFile(t, file, []byte(toYAML(t, v)))
}

func toYAML(t *testing.T, v any) string {
	t.Helper()
	data, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// readTree returns every regular file below dir by slash-separated path.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
