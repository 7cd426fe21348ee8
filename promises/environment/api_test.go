package environment

import (
	"bytes"
	"context"
	"maps"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/stagetest"
	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/promises/environment/internal/awscalls"
	"github.com/promisekit/promisekit/promises/environment/internal/motoserver"
)

const apiConfig = `
aws:
  mode: api
  region: us-east-1
  accountID: "123456789012"
  oidcIssuer: https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE
`

// awsFixture is moto behind a recording proxy, with direct clients for
// arranging drift and listing what exists.
type awsFixture struct {
	proxy *awscalls.Proxy
	env   map[string]string
	ecr   *ecr.Client
	iam   *iam.Client
}

func newAWSFixture(t testing.TB) *awsFixture {
	t.Helper()
	server := moto.Get(t)
	proxy, err := awscalls.New(server.URL)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(motoserver.AccessKeyID, motoserver.SecretAccessKey, "")}
	return &awsFixture{
		proxy: proxy,
		env: map[string]string{
			"AWS_ENDPOINT_URL":      srv.URL,
			"AWS_ACCESS_KEY_ID":     motoserver.AccessKeyID,
			"AWS_SECRET_ACCESS_KEY": motoserver.SecretAccessKey,
			"AWS_MAX_ATTEMPTS":      "1",
		},
		ecr: ecr.NewFromConfig(cfg, func(o *ecr.Options) { o.BaseEndpoint = aws.String(server.URL) }),
		iam: iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(server.URL) }),
	}
}

// harness returns a stage harness for object in api mode against moto.
func (f *awsFixture) harness(t testing.TB, object []byte) *pipeline {
	t.Helper()
	h := newPipeline(t, object, writeConfig(t, apiConfig), nil)
	maps.Copy(h.Env, f.env)
	return h
}

// inventory is everything in moto's ECR and IAM.
func (f *awsFixture) inventory(t *testing.T) []string {
	t.Helper()
	out, err := motoserver.Inventory(context.Background(), f.ecr, f.iam)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func statusOf(t *testing.T, h *pipeline, key string) any {
	t.Helper()
	return h.Status()[key]
}

var previewInventory = []string{
	"repository environments/default-checkout-preview",
	"role env-default-checkout-preview",
	"role env-default-checkout-preview inline policy repository-access",
}

func TestAPIModeLifecycle(t *testing.T) {
	f := newAWSFixture(t)
	ctx := context.Background()
	h := f.harness(t, request(t, "examples/preview.yaml", nil))

	first := h.Configure(ctx)
	if first.Err != nil {
		t.Fatal(first.Err)
	}
	roleARN := "arn:aws:iam::123456789012:role/promisekit/env-default-checkout-preview"
	if got := statusOf(t, h, "roleARN"); got != roleARN {
		t.Errorf("status.roleARN = %v, want %s", got, roleARN)
	}
	if got := statusOf(t, h, "repositoryURI"); got != "123456789012.dkr.ecr.us-east-1.amazonaws.com/environments/default-checkout-preview" {
		t.Errorf("status.repositoryURI = %v", got)
	}
	if got := statusOf(t, h, "aws"); got != "ensured" {
		t.Errorf("status.aws = %v, want ensured", got)
	}
	sa := first.Files["serviceaccount_default-checkout-preview_app.yaml"]
	if !bytes.Contains(sa, []byte("eks.amazonaws.com/role-arn: "+roleARN)) {
		t.Errorf("the workload service account is not annotated with its role:\n%s", sa)
	}

	// Scheduled re-runs: reads only, and the same bytes every time.
	var previous *stagetest.Outcome
	for run := 2; run <= 3; run++ {
		f.proxy.Reset()
		o := h.Configure(ctx)
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if m := f.proxy.Mutating(); len(m) != 0 {
			t.Errorf("run %d made mutating calls %v", run, m)
		}
		if !equalFiles(o.Files, first.Files) {
			t.Errorf("run %d changed the output", run)
		}
		if previous != nil && !bytes.Equal(o.StatusYAML, previous.StatusYAML) {
			t.Errorf("run %d changed the status:\n%s\nwas:\n%s", run, o.StatusYAML, previous.StatusYAML)
		}
		previous = o
	}
	t.Logf("steady-state calls per run: %s", awscalls.Summary(f.proxy.Counts()))
	if got := f.inventory(t); !slices.Equal(got, previewInventory) {
		t.Errorf("inventory %q, want %q", got, previewInventory)
	}

	// Drift is repaired, and said so.
	if _, err := f.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("env-default-checkout-preview"), PolicyName: aws.String("repository-access")}); err != nil {
		t.Fatal(err)
	}
	repaired := h.Configure(ctx)
	if repaired.Err != nil {
		t.Fatal(repaired.Err)
	}
	if msg := statusOf(t, h, "message").(string); !strings.Contains(msg, `put inline policy "repository-access"`) {
		t.Errorf("message after repair: %q", msg)
	}
	if got := f.inventory(t); !slices.Equal(got, previewInventory) {
		t.Errorf("inventory after repair %q, want %q", got, previewInventory)
	}

	// Delete, then delete again: the second finds nothing and succeeds.
	for run := 1; run <= 2; run++ {
		f.proxy.Reset()
		o := h.Delete(ctx)
		if o.Err != nil {
			t.Fatalf("delete %d: %v", run, o.Err)
		}
		if len(o.Files) != 0 {
			t.Errorf("delete %d wrote output %v", run, slices.Collect(maps.Keys(o.Files)))
		}
		if got := f.inventory(t); len(got) != 0 {
			t.Errorf("left after delete %d: %q", run, got)
		}
		if run == 2 && len(f.proxy.Mutating()) != 0 {
			t.Errorf("the second delete made mutating calls %v", f.proxy.Mutating())
		}
	}
}

// TestAPIModeConvergesAfterCrash fails the first run between creating the
// repository and creating the role, as a killed Pod would: the pipeline
// fails, so Kratix takes neither its output nor its status, and the next run, with no record of the first,
// adopts the repository and finishes. Nothing is duplicated or left over.
func TestAPIModeConvergesAfterCrash(t *testing.T) {
	f := newAWSFixture(t)
	ctx := context.Background()
	h := f.harness(t, request(t, "examples/preview.yaml", nil))
	before, _ := yaml.Marshal(h.Object)

	f.proxy.FailWhen(func(c awscalls.Call) bool { return c.Operation == "CreateRole" })
	crashed := h.Configure(ctx)
	if crashed.Err == nil {
		t.Fatal("the run succeeded although CreateRole failed")
	}
	if line := kratix.OneLine(crashed.Err); !strings.HasPrefix(line, `creating IAM role "env-default-checkout-preview"`) {
		t.Errorf("error %q does not say what failed", line)
	}
	// A failed run reaches neither the state store nor the status.
	if after, _ := yaml.Marshal(h.Object); !bytes.Equal(before, after) {
		t.Error("the failed run changed the object's status")
	}
	if got := f.inventory(t); !slices.Equal(got, []string{"repository environments/default-checkout-preview"}) {
		t.Fatalf("after the crash: %q", got)
	}

	f.proxy.FailWhen(nil)
	if o := h.Configure(ctx); o.Err != nil {
		t.Fatal(o.Err)
	}
	if got := f.inventory(t); !slices.Equal(got, previewInventory) {
		t.Errorf("inventory %q, want %q", got, previewInventory)
	}
	f.proxy.Reset()
	if o := h.Configure(ctx); o.Err != nil {
		t.Fatal(o.Err)
	}
	if m := f.proxy.Mutating(); len(m) != 0 {
		t.Errorf("the run after convergence made mutating calls %v", m)
	}
}

func TestAPIModeDryRun(t *testing.T) {
	f := newAWSFixture(t)
	h := f.harness(t, request(t, "examples/preview.yaml", nil))
	h.Env["KRATIX_DRY_RUN"] = "true"
	o := h.Configure(context.Background())
	if o.Err != nil {
		t.Fatal(o.Err)
	}
	if m := f.proxy.Mutating(); len(m) != 0 {
		t.Errorf("dry run made mutating calls %v", m)
	}
	if got := f.inventory(t); len(got) != 0 {
		t.Errorf("dry run created %q", got)
	}
	if msg := statusOf(t, h, "message").(string); !strings.Contains(msg, `would have created ECR repository "environments/default-checkout-preview"`) {
		t.Errorf("message %q does not say what would happen", msg)
	}
}

// TestAPIModeLongNames: a request whose name would make a role name longer
// than IAM allows (moto would accept it) gets a hash-shortened one.
func TestAPIModeLongNames(t *testing.T) {
	f := newAWSFixture(t)
	name := strings.Repeat("n", 63)
	h := f.harness(t, request(t, "examples/preview.yaml", func(o map[string]any) {
		o["metadata"].(map[string]any)["name"] = name
	}))
	if o := h.Configure(context.Background()); o.Err != nil {
		t.Fatal(o.Err)
	}
	for _, item := range f.inventory(t) {
		if role, ok := strings.CutPrefix(item, "role "); ok && !strings.Contains(role, " ") && len(role) > 64 {
			t.Errorf("role name %q is %d characters", role, len(role))
		}
	}
	if got := len(f.inventory(t)); got != 3 {
		t.Errorf("inventory %q", f.inventory(t))
	}
}
