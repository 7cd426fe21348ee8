package environment

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/kratixsim"
	"github.com/promisekit/promisekit/internal/stagetest"
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/promises/environment/awsinfra/awsapi"
)

// created is when test requests were created; stagetest's clock starts a
// day later.
var created = time.Date(2026, 10, 31, 9, 0, 0, 0, time.UTC)

const testUID = "6f1c2a4e-0b7d-4c55-9e3a-2d8f4b1a7c90"

// request reads an example request and adds what the API server would:
// namespace, uid and creation time. edit, if given, changes the object.
func request(t testing.TB, file string, edit func(obj map[string]any)) []byte {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := yaml.Unmarshal(data, &obj); err != nil {
		t.Fatal(err)
	}
	meta := obj["metadata"].(map[string]any)
	meta["namespace"] = "default"
	meta["uid"] = testUID
	meta["creationTimestamp"] = created.Format(time.RFC3339)
	if edit != nil {
		edit(obj)
	}
	out, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func setSpec(key string, value any) func(map[string]any) {
	return func(obj map[string]any) { obj["spec"].(map[string]any)[key] = value }
}

var configureWorkflow = kratixsim.Workflow{Type: "resource", Promise: "environment", Pipeline: "configure", Plural: "environments"}

// pipeline runs the Promise's configure pipeline as one Kratix Pod does:
// the manifest stage, then the lifecycle stage, in the same /kratix
// directories and with the same input object; Kratix merges the status.yaml
// the last one leaves. Its delete workflow is the lifecycle stage's.
type pipeline struct {
	*stagetest.Harness
	manifests, lifecycle kratix.Workflows
}

// newPipeline runs the stages on object with the configuration in
// configFile ("" for the defaults). The lifecycle stage reaches AWS through
// the real SDK client; an expired request is deleted through deleteRequest,
// and nil fails the test if it is called.
func newPipeline(t testing.TB, object []byte, configFile string, deleteRequest func(context.Context, *kratix.Request) error) *pipeline {
	t.Helper()
	if deleteRequest == nil {
		deleteRequest = func(context.Context, *kratix.Request) error {
			t.Error("the stage deleted its request")
			return nil
		}
	}
	outside := Outside{
		NewAWS: func(ctx context.Context, region string, getenv func(string) string) (AWS, error) {
			return awsapi.New(ctx, region, getenv)
		},
		DeleteRequest: deleteRequest,
	}
	p := &pipeline{manifests: Workflows(), lifecycle: LifecycleWorkflows(outside)}
	p.Harness = stagetest.New(t, "environment", p.manifests, configureWorkflow, object)
	if configFile != "" {
		abs, err := filepath.Abs(configFile)
		if err != nil {
			t.Fatal(err)
		}
		p.Env[ConfigVariable] = abs
	} else {
		// Not the default path: a machine running the tests may have one.
		p.Env[ConfigVariable] = filepath.Join(t.TempDir(), "absent.yaml")
	}
	return p
}

// Configure runs the configure pipeline once, in a new Pod.
func (p *pipeline) Configure(ctx context.Context) *stagetest.Outcome {
	root := p.T.TempDir()
	return p.RunIn(ctx, kratix.ActionConfigure, kratix.Paths{
		InputFile:   filepath.Join(root, "input", "object.yaml"),
		OutputDir:   filepath.Join(root, "output"),
		MetadataDir: filepath.Join(root, "metadata"),
	})
}

// RunIn runs the pipeline of action in dirs: a retry in the same Pod.
func (p *pipeline) RunIn(ctx context.Context, action string, dirs kratix.Paths) *stagetest.Outcome {
	p.T.Helper()
	if action == kratix.ActionDelete {
		p.Stage, p.Workflows = "environment-lifecycle", p.lifecycle
		return p.Harness.RunIn(ctx, action, dirs)
	}
	input := p.Object
	p.Stage, p.Workflows = "environment", p.manifests
	if out := p.Harness.RunIn(ctx, action, dirs); out.Err != nil {
		return out
	}
	// Kratix merges status once, after the Pod: the second container gets
	// the object the first got.
	p.Object = input
	p.Stage, p.Workflows = "environment-lifecycle", p.lifecycle
	return p.Harness.RunIn(ctx, action, dirs)
}

// Delete runs the delete pipeline once, in a new Pod.
func (p *pipeline) Delete(ctx context.Context) *stagetest.Outcome {
	root := p.T.TempDir()
	return p.RunIn(ctx, kratix.ActionDelete, kratix.Paths{
		InputFile:   filepath.Join(root, "input", "object.yaml"),
		OutputDir:   filepath.Join(root, "output"),
		MetadataDir: filepath.Join(root, "metadata"),
	})
}

// writeConfig writes a configuration file for one test.
func writeConfig(t testing.TB, content string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}
