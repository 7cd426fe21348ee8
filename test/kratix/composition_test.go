package contract

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/go-logr/logr"
	"github.com/syntasso/kratix/api/v1alpha1"
	"github.com/syntasso/kratix/lib/resourceutil"
	"github.com/syntasso/kratix/work-creator/lib"
)

// TestContainerBeforeOurs: a platform puts a container of its own before
// the stage in the pipeline, writing a status key and a destination
// selector. Kratix's own parser and status merge see both containers'
// parts.
func TestContainerBeforeOurs(t *testing.T) {
	root := repoRoot(t)
	stage := buildCommand(t, root, "./test/example/cmd/example", t.TempDir())
	promise, pipelineNamespace := readPromise(t, filepath.Join(root, examplePromise))
	request := readRequest(t, filepath.Join(root, exampleRequest))
	pipeline := firstPipeline(t, promise, v1alpha1.WorkflowTypeResource, v1alpha1.WorkflowActionConfigure)
	input := request.DeepCopy()
	resourceutil.SetStatus(input, logr.Discard(), "message", "Pending")
	_, resources, err := pipelineResources(promise, pipeline, v1alpha1.WorkflowTypeResource, v1alpha1.WorkflowActionConfigure, input, pipelineNamespace)
	if err != nil {
		t.Fatal(err)
	}
	p := runAfter(t, stage, resources.Job.Spec.Template.Spec.InitContainers, pipeline.Spec.Containers[0].Name, input, map[string]string{
		"status.yaml":                "audit:\n  checkedBy: policy-bot\nmessage: checked\n",
		"destination-selectors.yaml": "- matchLabels:\n    region: eu\n",
	})

	data, err := os.ReadFile(filepath.Join(p.metadata, "destination-selectors.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := lib.ParseDestinationSelectors(data)
	if err != nil {
		t.Fatalf("Kratix refuses the composed destination-selectors.yaml: %v\n%s", err, data)
	}
	want := []v1alpha1.WorkflowDestinationSelectors{
		{Directory: ".", MatchLabels: map[string]string{"region": "eu"}},
		{Directory: "dev", MatchLabels: map[string]string{"environment": "dev"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseDestinationSelectors() = %+v, want %+v", got, want)
	}

	statusYAML, err := os.ReadFile(filepath.Join(p.metadata, "status.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	merged := lib.MergeStatuses(map[string]any{"message": "Pending"}, decodeStatus(t, string(statusYAML)))
	if _, ok := merged["audit"]; !ok {
		t.Errorf("the earlier container's status key is gone:\n%s", statusYAML)
	}
	if _, ok := merged["greeting"]; !ok {
		t.Errorf("the stage's status key is missing:\n%s", statusYAML)
	}
	if merged["message"] == "checked" {
		t.Errorf("the stage's message did not replace the earlier container's")
	}
}
