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
	"github.com/promisekit/promisekit/pkg/overlays/pass"
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

// pipeline runs the Promise's stage as Kratix does, with the AWS SDK: the
// environment-aws binary's wiring.
type pipeline struct {
	*stagetest.Harness
}

// setAWSAttemptTimeout rewrites the pipeline's configuration file with
// config.aws.attemptTimeout set to d.
func (p *pipeline) setAWSAttemptTimeout(t testing.TB, d time.Duration) {
	t.Helper()
	file := p.Env[kratix.ConfigVariable]
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg == nil {
		cfg = map[string]any{}
	}
	aws, _ := cfg["aws"].(map[string]any)
	if aws == nil {
		aws = map[string]any{}
	}
	aws["attemptTimeout"] = d.String()
	cfg["aws"] = aws
	if data, err = yaml.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// newPipeline runs the stage on object with the configuration in
// configFile ("" for the defaults). It reaches AWS through the real SDK
// client; an expired request is deleted through deleteRequest, and nil
// fails the test if it is called.
func newPipeline(t testing.TB, object []byte, configFile string, deleteRequest func(context.Context, *kratix.Request) error) *pipeline {
	t.Helper()
	if deleteRequest == nil {
		deleteRequest = func(context.Context, *kratix.Request) error {
			t.Error("the stage deleted its request")
			return nil
		}
	}
	outside := Outside{
		NewAWS: func(ctx context.Context, region string, attemptTimeout time.Duration, getenv func(string) string) (AWS, error) {
			return awsapi.New(ctx, region, attemptTimeout, getenv)
		},
		DeleteRequest: func(ctx context.Context, req *kratix.Request, timeout time.Duration) error {
			if timeout != defaultPlatformAPITimeout {
				t.Errorf("platform API timeout %s, want the default %s", timeout, defaultPlatformAPITimeout)
			}
			return deleteRequest(ctx, req)
		},
		Overlays: pass.Run,
	}
	p := &pipeline{Harness: stagetest.New(t, "environment", Workflows(outside), configureWorkflow, object)}
	if configFile != "" {
		abs, err := filepath.Abs(configFile)
		if err != nil {
			t.Fatal(err)
		}
		p.Env[kratix.ConfigVariable] = abs
	} else {
		p.Env[kratix.ConfigVariable] = stagetest.EmptyConfig(t)
	}
	return p
}

// loadConfig reads the platform configuration at path as the stage does.
func loadConfig(path string) (*Config, error) {
	return New(Outside{}).Config.Load(path)
}

// load takes a configure run's steps up to its decision.
func load(req *kratix.Request) (*plan, error) {
	p, err := New(Outside{}).Decide(req)
	if err != nil {
		return nil, err
	}
	return p.(*plan), nil
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
