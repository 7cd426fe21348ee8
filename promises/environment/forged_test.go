package environment

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/promisekit/promisekit/internal/stagetest"
	"github.com/promisekit/promisekit/promises/environment/awsinfra"
)

// TestForgedState: an Environment whose status names another request's
// namespace or AWS resources, in api mode against moto. Through configure
// and delete, the other request's resources see no mutating call and stay,
// and the forger's run is refused with one line naming the field.
func TestForgedState(t *testing.T) {
	f := newAWSFixture(t)
	ctx := context.Background()
	victimH := f.harness(t, request(t, "examples/preview.yaml", setName("forge-victim")))
	if out := victimH.Configure(ctx); out.Err != nil {
		t.Fatal(out.Err)
	}
	victim := victimH.StatusCopy(stateCodec.Key)
	victimAWS := victim["aws"].(map[string]any)

	tests := []struct {
		name  string
		forge func(forger map[string]any)
		// configure and delete are how each workflow ends: the field a
		// refusal names, or "" when the run goes on and leaves what is not
		// the forger's alone (its owner tag says so).
		configure, delete string
	}{
		{"another request's whole status", func(fg map[string]any) { clear(fg); copyAll(fg, victim) },
			"status.environment.namespace", "status.environment.namespace"},
		{"host namespace", func(fg map[string]any) { fg["namespace"] = victim["namespace"] },
			"status.environment.namespace", "status.environment.namespace"},
		{"AWS resources", func(fg map[string]any) { fg["aws"] = victimAWS },
			"status.environment.aws", ""},
		{"repository alone", func(fg map[string]any) {
			fg["aws"].(map[string]any)["repositoryName"] = victimAWS["repositoryName"]
		}, "status.environment.aws", ""},
		{"role alone", func(fg map[string]any) { fg["aws"].(map[string]any)["roleName"] = victimAWS["roleName"] },
			"status.environment.aws", ""},
		{"older schema version", func(fg map[string]any) { fg["schemaVersion"] = 0 },
			"status.environment", "status.environment"},
	}
	for i, tt := range tests {
		for _, action := range []string{"configure", "delete"} {
			t.Run(tt.name+"/"+action, func(t *testing.T) {
				h := f.harness(t, request(t, "examples/preview.yaml", setName(fmt.Sprintf("forge-%d-%s", i, action))))
				if out := h.Configure(ctx); out.Err != nil {
					t.Fatal(out.Err)
				}
				forged := h.StatusCopy(stateCodec.Key)
				tt.forge(forged)
				h.SetStatus(stateCodec.Key, forged)
				f.proxy.Reset()

				refused := map[string]string{"configure": tt.configure, "delete": tt.delete}[action]
				out := h.RunIn(ctx, action, h.PodDirs())
				if refused != "" {
					stagetest.CheckRefused(t, out, refused)
				} else if out.Err != nil {
					t.Fatal(out.Err)
				}
				for _, c := range f.proxy.Mutating() {
					if strings.Contains(fmt.Sprint(c), "forge-victim") {
						t.Errorf("a mutating call reached the victim's resources: %v", c)
					}
				}
				if refused != "" && len(f.proxy.Mutating()) != 0 {
					t.Errorf("a refused run made mutating calls %v", f.proxy.Mutating())
				}
				checkStillThere(t, f, victimAWS)
			})
		}
	}
}

func copyAll(dst, src map[string]any) {
	for k, v := range src {
		dst[k] = v
	}
}

// checkStillThere: the victim's repository and role exist, still tagged
// as the victim's.
func checkStillThere(t *testing.T, f *awsFixture, victimAWS map[string]any) {
	t.Helper()
	ctx := context.Background()
	repo := victimAWS["repositoryName"].(string)
	if _, err := f.ecr.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{repo}}); err != nil {
		t.Errorf("the victim's repository %s: %v", repo, err)
	}
	role := victimAWS["roleName"].(string)
	out, err := f.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
	if err != nil {
		t.Fatalf("the victim's role %s: %v", role, err)
	}
	for _, tag := range out.Role.Tags {
		if aws.ToString(tag.Key) == awsinfra.OwnerTag && aws.ToString(tag.Value) != "default/forge-victim" {
			t.Errorf("the victim's role is tagged as %s's", aws.ToString(tag.Value))
		}
	}
}
