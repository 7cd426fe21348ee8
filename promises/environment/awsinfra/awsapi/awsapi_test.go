package awsapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/promises/environment/awsinfra"
	"github.com/promisekit/promisekit/promises/environment/internal/awscalls"
	"github.com/promisekit/promisekit/promises/environment/internal/motoserver"
)

// moto is shared by the package's tests, started by the first of them.
var moto motoserver.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	moto.Close()
	os.Exit(code)
}

// fixture is one test's view of AWS: the client under test talking through
// a recording proxy, and direct SDK clients for arranging and inspecting.
type fixture struct {
	motoURL string
	client  *Client
	proxy   *awscalls.Proxy
	ecr     *ecr.Client
	iam     *iam.Client
}

// newFixture resets moto and returns a fixture whose client reaches
// upstream (moto itself when empty) through a recording proxy.
func newFixture(t *testing.T, upstream string) *fixture {
	t.Helper()
	server := moto.Get(t)
	ctx := context.Background()
	if upstream == "" {
		upstream = server.URL
	}
	proxy, err := awscalls.New(upstream)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	env := map[string]string{
		"AWS_ENDPOINT_URL":      srv.URL,
		"AWS_ACCESS_KEY_ID":     motoserver.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY": motoserver.SecretAccessKey,
		"AWS_MAX_ATTEMPTS":      "1",
	}
	c, err := New(ctx, "us-east-1", 0, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	c.podIdentityRetry = time.Millisecond
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(motoserver.AccessKeyID, motoserver.SecretAccessKey, ""),
	}
	return &fixture{
		motoURL: server.URL,
		client:  c,
		proxy:   proxy,
		ecr:     ecr.NewFromConfig(cfg, func(o *ecr.Options) { o.BaseEndpoint = aws.String(server.URL) }),
		iam:     iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(server.URL) }),
	}
}

const lifecyclePolicy = `{"rules":[{"rulePriority":1,"description":"expire untagged images after 14 days","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}}]}`

func desired(owner string) awsinfra.Desired {
	name := strings.ReplaceAll(owner, "/", "-")
	repo := "environments/" + name
	return awsinfra.Desired{
		Owner: owner,
		Tags:  map[string]string{"kratix.io/promise": "environment"},
		Repository: awsinfra.Repository{
			Name: repo, ImageTagMutability: "IMMUTABLE", ScanOnPush: true, EncryptionType: "AES256",
			LifecyclePolicy: lifecyclePolicy,
		},
		Role: awsinfra.Role{
			Name: "env-" + name, Path: "/promisekit/",
			TrustPolicy:      awsinfra.IRSATrustPolicy(motoserver.AccountID, "https://oidc.eks.us-east-1.amazonaws.com/id/ABC", name, "app"),
			InlinePolicyName: "repository-access",
			InlinePolicy:     awsinfra.RepositoryAccessPolicy(awsinfra.RepositoryARN("us-east-1", motoserver.AccountID, repo)),
		},
	}
}

// inventory lists everything in moto's ECR and IAM, to show that nothing
// was duplicated or leaked.
func (f *fixture) inventory(t *testing.T) []string {
	t.Helper()
	out, err := motoserver.Inventory(context.Background(), f.ecr, f.iam)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func wantInventory(d awsinfra.Desired) []string {
	return []string{
		"repository " + d.Repository.Name,
		"role " + d.Role.Name,
		"role " + d.Role.Name + " inline policy " + d.Role.InlinePolicyName,
	}
}

func TestEnsureCreatesThenReadsOnly(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	d := desired("team-a/dev")

	first, err := f.client.Ensure(ctx, d, awsinfra.Known{}, false)
	if err != nil {
		t.Fatal(err)
	}
	wantChanges := []string{
		`created ECR repository "environments/team-a-dev"`,
		`set lifecycle policy of ECR repository "environments/team-a-dev"`,
		`created IAM role "env-team-a-dev"`,
		`put inline policy "repository-access" on IAM role "env-team-a-dev"`,
	}
	if !slices.Equal(first.Changes, wantChanges) {
		t.Errorf("first run changes:\n got %q\nwant %q", first.Changes, wantChanges)
	}
	if want := "123456789012.dkr.ecr.us-east-1.amazonaws.com/environments/team-a-dev"; first.RepositoryURI != want {
		t.Errorf("repository URI = %q, want %q", first.RepositoryURI, want)
	}
	if want := awsinfra.RoleARN(motoserver.AccountID, "/promisekit/", "env-team-a-dev"); first.RoleARN != want {
		t.Errorf("role ARN = %q, want %q", first.RoleARN, want)
	}

	f.proxy.Reset()
	again, err := f.client.Ensure(ctx, d, awsinfra.Known{Repository: true, Role: true}, false)
	if err != nil {
		t.Fatal(err)
	}
	if m := f.proxy.Mutating(); len(m) != 0 || len(again.Changes) != 0 {
		t.Errorf("re-run made mutating calls %v (changes %q); calls: %s", m, again.Changes, awscalls.Summary(f.proxy.Counts()))
	}
	if again.RepositoryURI != first.RepositoryURI || again.RoleARN != first.RoleARN {
		t.Errorf("re-run reports %q %q, first run %q %q", again.RepositoryURI, again.RoleARN, first.RepositoryURI, first.RoleARN)
	}
	if got, want := f.inventory(t), wantInventory(d); !slices.Equal(got, want) {
		t.Errorf("inventory = %q, want %q", got, want)
	}
}

func TestEnsureRepairsDrift(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		drift func(f *fixture, d awsinfra.Desired) error
		want  []string
	}{
		{
			name: "tag mutability",
			drift: func(f *fixture, d awsinfra.Desired) error {
				_, err := f.ecr.PutImageTagMutability(ctx, &ecr.PutImageTagMutabilityInput{RepositoryName: &d.Repository.Name, ImageTagMutability: ecrtypes.ImageTagMutabilityMutable})
				return err
			},
			want: []string{`set image tag mutability of ECR repository "environments/team-a-dev" to IMMUTABLE`},
		},
		{
			name: "scan on push",
			drift: func(f *fixture, d awsinfra.Desired) error {
				// The SDK omits a false scanOnPush, which AWS reads as
				// false and moto as "no change": send the JSON by hand.
				return motoCall(ctx, f.motoURL, "ecr", "AmazonEC2ContainerRegistry_V20150921.PutImageScanningConfiguration",
					`{"repositoryName":"`+d.Repository.Name+`","imageScanningConfiguration":{"scanOnPush":false}}`)
			},
			want: []string{`set scan on push of ECR repository "environments/team-a-dev" to true`},
		},
		{
			name: "lifecycle policy removed",
			drift: func(f *fixture, d awsinfra.Desired) error {
				_, err := f.ecr.DeleteLifecyclePolicy(ctx, &ecr.DeleteLifecyclePolicyInput{RepositoryName: &d.Repository.Name})
				return err
			},
			want: []string{`set lifecycle policy of ECR repository "environments/team-a-dev"`},
		},
		{
			name: "repository deleted",
			drift: func(f *fixture, d awsinfra.Desired) error {
				_, err := f.ecr.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: &d.Repository.Name, Force: true})
				return err
			},
			want: []string{`created ECR repository "environments/team-a-dev"`, `set lifecycle policy of ECR repository "environments/team-a-dev"`},
		},
		{
			name: "trust policy widened",
			drift: func(f *fixture, d awsinfra.Desired) error {
				_, err := f.iam.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: &d.Role.Name, PolicyDocument: aws.String(awsinfra.IRSATrustPolicy(motoserver.AccountID, "https://oidc.example", "team-a-dev", "*"))})
				return err
			},
			want: []string{`replaced trust policy of IAM role "env-team-a-dev"`},
		},
		{
			name: "promise tag removed",
			drift: func(f *fixture, d awsinfra.Desired) error {
				_, err := f.iam.UntagRole(ctx, &iam.UntagRoleInput{RoleName: &d.Role.Name, TagKeys: []string{"kratix.io/promise"}})
				return err
			},
			want: []string{`tagged IAM role "env-team-a-dev"`},
		},
		{
			name: "inline policy edited and another added",
			drift: func(f *fixture, d awsinfra.Desired) error {
				if _, err := f.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: &d.Role.Name, PolicyName: &d.Role.InlinePolicyName, PolicyDocument: aws.String(awsinfra.RepositoryAccessPolicy("*"))}); err != nil {
					return err
				}
				_, err := f.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: &d.Role.Name, PolicyName: aws.String("by-hand"), PolicyDocument: aws.String(awsinfra.RepositoryAccessPolicy("*"))})
				return err
			},
			want: []string{
				`deleted inline policy "by-hand" of IAM role "env-team-a-dev"`,
				`put inline policy "repository-access" on IAM role "env-team-a-dev"`,
			},
		},
		{
			name: "managed policy attached by hand",
			drift: func(f *fixture, d awsinfra.Desired) error {
				p, err := f.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("admin"), PolicyDocument: aws.String(awsinfra.RepositoryAccessPolicy("*"))})
				if err != nil {
					return err
				}
				_, err = f.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: &d.Role.Name, PolicyArn: p.Policy.Arn})
				return err
			},
			want: []string{`detached arn:aws:iam::123456789012:policy/admin from IAM role "env-team-a-dev"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "")
			d := desired("team-a/dev")
			if _, err := f.client.Ensure(ctx, d, awsinfra.Known{}, false); err != nil {
				t.Fatal(err)
			}
			if err := tt.drift(f, d); err != nil {
				t.Fatalf("making drift: %v", err)
			}
			res, err := f.client.Ensure(ctx, d, awsinfra.Known{Repository: true, Role: true}, false)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Changes, tt.want) {
				t.Errorf("repairs:\n got %q\nwant %q", res.Changes, tt.want)
			}
			f.proxy.Reset()
			if _, err := f.client.Ensure(ctx, d, awsinfra.Known{Repository: true, Role: true}, false); err != nil {
				t.Fatal(err)
			}
			if m := f.proxy.Mutating(); len(m) != 0 {
				t.Errorf("run after repair made mutating calls %v", m)
			}
		})
	}
}

func TestEnsureReportsEncryptionDrift(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	d := desired("team-a/dev")
	_, err := f.ecr.CreateRepository(ctx, &ecr.CreateRepositoryInput{
		RepositoryName:          &d.Repository.Name,
		EncryptionConfiguration: &ecrtypes.EncryptionConfiguration{EncryptionType: ecrtypes.EncryptionTypeKms},
		Tags:                    []ecrtypes.Tag{{Key: aws.String(awsinfra.OwnerTag), Value: aws.String(d.Owner)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.client.Ensure(ctx, d, awsinfra.Known{}, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`ECR repository "environments/team-a-dev" is encrypted with KMS, not AES256; AWS fixes encryption at creation`}
	if !slices.Equal(res.Unrepaired, want) {
		t.Errorf("unrepaired = %q, want %q", res.Unrepaired, want)
	}
	if got, want := f.inventory(t), wantInventory(d); !slices.Equal(got, want) {
		t.Errorf("inventory = %q, want %q (the repository must not be recreated)", got, want)
	}
}

// TestEnsureConvergesAfterCrash stops a first run between creating the
// repository and creating the role, as a killed Pod would, and shows that
// the next run, which has no record of the first, adopts the repository and
// finishes, with nothing duplicated or left over.
func TestEnsureConvergesAfterCrash(t *testing.T) {
	tests := []struct {
		name    string
		crashAt string
	}{
		{"before the lifecycle policy", "PutLifecyclePolicy"},
		{"between repository and role", "CreateRole"},
		{"before the role's policy", "PutRolePolicy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "")
			ctx := context.Background()
			d := desired("team-a/dev")
			f.proxy.FailWhen(func(c awscalls.Call) bool { return c.Operation == tt.crashAt })
			if _, err := f.client.Ensure(ctx, d, awsinfra.Known{}, false); err == nil {
				t.Fatalf("first run succeeded although %s failed", tt.crashAt)
			}
			f.proxy.FailWhen(nil)
			res, err := f.client.Ensure(ctx, d, awsinfra.Known{}, false)
			if err != nil {
				t.Fatalf("second run: %v", err)
			}
			if got, want := f.inventory(t), wantInventory(d); !slices.Equal(got, want) {
				t.Errorf("inventory = %q, want %q", got, want)
			}
			if res.RepositoryURI == "" || res.RoleARN == "" {
				t.Errorf("second run reports repository %q role %q", res.RepositoryURI, res.RoleARN)
			}
			f.proxy.Reset()
			if _, err := f.client.Ensure(ctx, d, awsinfra.Known{Repository: true, Role: true}, false); err != nil {
				t.Fatal(err)
			}
			if m := f.proxy.Mutating(); len(m) != 0 {
				t.Errorf("third run made mutating calls %v", m)
			}
		})
	}
}

func TestEnsureRefusesResourcesOfOthers(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		arrange func(f *fixture, d awsinfra.Desired) error
		want    string
		service string // whose resource is not ours
	}{
		{
			name: "repository of another request",
			arrange: func(f *fixture, d awsinfra.Desired) error {
				_, err := f.ecr.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: &d.Repository.Name, Tags: []ecrtypes.Tag{{Key: aws.String(awsinfra.OwnerTag), Value: aws.String("team-b/dev")}}})
				return err
			},
			want:    `ECR repository "environments/team-a-dev" belongs to team-b/dev, not to this request, so it is left alone`,
			service: "ecr",
		},
		{
			name: "untagged role",
			arrange: func(f *fixture, d awsinfra.Desired) error {
				_, err := f.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: &d.Role.Name, Path: &d.Role.Path, AssumeRolePolicyDocument: &d.Role.TrustPolicy})
				return err
			},
			want:    `IAM role "env-team-a-dev" exists but has no kratix.io/resource tag`,
			service: "iam",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "")
			d := desired("team-a/dev")
			if err := tt.arrange(f, d); err != nil {
				t.Fatal(err)
			}
			_, err := f.client.Ensure(ctx, d, awsinfra.Known{}, false)
			var notOwned *awsinfra.NotOwnedError
			if !errors.As(err, &notOwned) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Ensure error = %v, want a awsinfra.NotOwnedError containing %q", err, tt.want)
			}
			for _, c := range f.proxy.Mutating() {
				if c.Service == tt.service && !strings.HasPrefix(c.Operation, "Create") {
					t.Errorf("changed a resource it does not own: %v", c)
				}
			}
		})
	}
}

// TestValidateCatchesWhatMotoAccepts shows, for each limit, that moto takes
// the bad value and that Ensure refuses it before making any call.
func TestValidateCatchesWhatMotoAccepts(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		mutate   func(d *awsinfra.Desired)
		viaMoto  func(f *fixture, d awsinfra.Desired) error // moto accepts this
		wantText string
	}{
		{
			name:   "role name of 66 characters",
			mutate: func(d *awsinfra.Desired) { d.Role.Name = strings.Repeat("r", 66) },
			viaMoto: func(f *fixture, d awsinfra.Desired) error {
				_, err := f.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: &d.Role.Name, AssumeRolePolicyDocument: &d.Role.TrustPolicy})
				return err
			},
			wantText: "is 66 characters; AWS accepts 1 to 64",
		},
		{
			name:   "trust policy that is not JSON",
			mutate: func(d *awsinfra.Desired) { d.Role.TrustPolicy = "allow everyone" },
			viaMoto: func(f *fixture, d awsinfra.Desired) error {
				_, err := f.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: &d.Role.Name, AssumeRolePolicyDocument: &d.Role.TrustPolicy})
				return err
			},
			wantText: "role trust policy: not a JSON object",
		},
		{
			name:   "lifecycle policy shorter than 100 characters",
			mutate: func(d *awsinfra.Desired) { d.Repository.LifecyclePolicy = `{"rules":[]}` },
			viaMoto: func(f *fixture, d awsinfra.Desired) error {
				if _, err := f.ecr.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: &d.Repository.Name}); err != nil {
					return err
				}
				_, err := f.ecr.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: &d.Repository.Name, LifecyclePolicyText: &d.Repository.LifecyclePolicy})
				return err
			},
			wantText: "repository lifecycle policy: is 12 characters; AWS accepts 100 to 30720",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "")
			d := desired("team-a/dev")
			tt.mutate(&d)
			if err := tt.viaMoto(f, d); err != nil {
				t.Logf("moto now refuses this too (%v); our check still must", err)
			}
			f.proxy.Reset()
			_, err := f.client.Ensure(ctx, d, awsinfra.Known{}, false)
			if err == nil || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("Ensure error = %v, want it to contain %q", err, tt.wantText)
			}
			if calls := f.proxy.Calls(); len(calls) != 0 {
				t.Errorf("Ensure called AWS before refusing: %v", calls)
			}
		})
	}
}

func TestDryRunMakesNoMutatingCall(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	d := desired("team-a/dev")
	res, err := f.client.Ensure(ctx, d, awsinfra.Known{}, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`would have created ECR repository "environments/team-a-dev"`, `would have created IAM role "env-team-a-dev"`}
	if !slices.Equal(res.Changes, want) {
		t.Errorf("changes = %q, want %q", res.Changes, want)
	}
	if m := f.proxy.Mutating(); len(m) != 0 {
		t.Errorf("dry run made mutating calls %v", m)
	}
	if inv := f.inventory(t); len(inv) != 0 {
		t.Errorf("dry run left %q", inv)
	}
}

func TestDelete(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name          string
		retain        bool
		wantMutations []string
		wantLeft      []string
	}{
		{
			name: "everything",
			wantMutations: []string{
				"iam:DetachRolePolicy", "iam:DeleteRolePolicy", "iam:DeleteRole", "ecr:DeleteRepository",
			},
		},
		{
			name:          "repository retained",
			retain:        true,
			wantMutations: []string{"iam:DetachRolePolicy", "iam:DeleteRolePolicy", "iam:DeleteRole"},
			wantLeft:      []string{"repository environments/team-a-dev"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "")
			d := desired("team-a/dev")
			d.Role.ManagedPolicyARNs = []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}
			d.Repository.Retain = tt.retain
			p, err := f.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("ReadOnlyAccess"), PolicyDocument: aws.String(awsinfra.RepositoryAccessPolicy("*"))})
			if err != nil {
				t.Fatal(err)
			}
			d.Role.ManagedPolicyARNs = []string{aws.ToString(p.Policy.Arn)}
			if _, err := f.client.Ensure(ctx, d, awsinfra.Known{}, false); err != nil {
				t.Fatal(err)
			}
			f.proxy.Reset()
			if _, err := f.client.Delete(ctx, d, false); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range f.proxy.Mutating() {
				got = append(got, c.String())
			}
			if !slices.Equal(got, tt.wantMutations) {
				t.Errorf("delete made %q, want %q in that order", got, tt.wantMutations)
			}
			if inv := f.inventory(t); !slices.Equal(inv, tt.wantLeft) {
				t.Errorf("left after delete: %q, want %q", inv, tt.wantLeft)
			}

			f.proxy.Reset()
			if _, err := f.client.Delete(ctx, d, false); err != nil {
				t.Fatalf("second delete: %v", err)
			}
			if m := f.proxy.Mutating(); len(m) != 0 {
				t.Errorf("second delete made mutating calls %v", m)
			}
		})
	}
}

func TestDeleteLeavesResourcesOfOthers(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	theirs := desired("team-a/dev")
	theirs.Owner = "team-b/dev"
	if _, err := f.client.Ensure(ctx, theirs, awsinfra.Known{}, false); err != nil {
		t.Fatal(err)
	}
	f.proxy.Reset()
	res, err := f.client.Delete(ctx, desired("team-a/dev"), false)
	if err != nil {
		t.Fatal(err)
	}
	if m := f.proxy.Mutating(); len(m) != 0 {
		t.Errorf("deleted another request's resources: %v", m)
	}
	if len(res.Unrepaired) != 2 {
		t.Errorf("unrepaired = %q, want the role and the repository reported", res.Unrepaired)
	}
	if got, want := f.inventory(t), wantInventory(theirs); !slices.Equal(got, want) {
		t.Errorf("inventory = %q, want %q", got, want)
	}
}

func TestDeleteMissingIsSuccess(t *testing.T) {
	f := newFixture(t, "")
	res, err := f.client.Delete(context.Background(), desired("team-a/never"), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != 0 || len(f.proxy.Mutating()) != 0 {
		t.Errorf("deleting nothing changed %q (calls %v)", res.Changes, f.proxy.Mutating())
	}
}

// TestTypedErrors pins the SDK error types moto answers with, on which
// adoption and "not found is success" rest.
func TestTypedErrors(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	name := "environments/x"
	if _, err := f.ecr.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: &name}); err != nil {
		t.Fatal(err)
	}
	_, err := f.ecr.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: &name})
	if !errors.As(err, new(*ecrtypes.RepositoryAlreadyExistsException)) {
		t.Errorf("second CreateRepository: %v, want RepositoryAlreadyExistsException", err)
	}
	_, err = f.ecr.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"environments/none"}})
	if !errors.As(err, new(*ecrtypes.RepositoryNotFoundException)) {
		t.Errorf("DescribeRepositories of a missing repository: %v, want RepositoryNotFoundException", err)
	}
	_, err = f.ecr.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: &name})
	if !errors.As(err, new(*ecrtypes.LifecyclePolicyNotFoundException)) {
		t.Errorf("GetLifecyclePolicy without one: %v, want LifecyclePolicyNotFoundException", err)
	}
	doc := awsinfra.RepositoryAccessPolicy("*")
	if _, err := f.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: &doc}); err != nil {
		t.Fatal(err)
	}
	_, err = f.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: &doc})
	if !errors.As(err, new(*iamtypes.EntityAlreadyExistsException)) {
		t.Errorf("second CreateRole: %v, want EntityAlreadyExistsException", err)
	}
	_, err = f.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("none")})
	if !errors.As(err, new(*iamtypes.NoSuchEntityException)) {
		t.Errorf("GetRole of a missing role: %v, want NoSuchEntityException", err)
	}
	if _, err := f.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("p"), PolicyDocument: &doc}); err != nil {
		t.Fatal(err)
	}
	_, err = f.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("r")})
	if !errors.As(err, new(*iamtypes.DeleteConflictException)) {
		t.Errorf("DeleteRole with a policy: %v, want DeleteConflictException", err)
	}
}

// motoCall sends one awsJson request to moto as written, for states the SDK
// cannot express. moto does not check signatures; it reads the region and
// service from the credential scope.
func motoCall(ctx context.Context, endpoint, service, target, body string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/"+service+"/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s: %s: %s", target, resp.Status, msg)
	}
	return nil
}

// TestThrottled: AWS still throttling after the SDK's attempts is a
// failure a later run may get through; other API errors are not.
func TestThrottled(t *testing.T) {
	for code, want := range map[string]bool{"ThrottlingException": true, "Throttling": true, "RequestLimitExceeded": true, "AccessDenied": false, "EntityAlreadyExists": false} {
		err := throttled(&smithy.GenericAPIError{Code: code, Message: "x"})
		var te *kratix.TransientError
		if got := errors.As(err, &te); got != want {
			t.Errorf("%s: transient %v, want %v", code, got, want)
		}
	}
	if throttled(nil) != nil {
		t.Error("throttled(nil) is not nil")
	}
}
