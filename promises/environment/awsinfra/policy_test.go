package awsinfra

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

func validDesired() Desired {
	return Desired{
		Owner: "team-a/dev",
		Repository: Repository{
			Name: "environments/team-a-dev", ImageTagMutability: "IMMUTABLE", EncryptionType: "AES256",
			LifecyclePolicy: `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":5},"action":{"type":"expire"}}]}`,
		},
		Role: Role{
			Name: "env-team-a-dev", Path: "/",
			TrustPolicy:      IRSATrustPolicy("123456789012", "https://oidc.example/id/X", "team-a-dev", "app"),
			InlinePolicyName: "repository-access", InlinePolicy: RepositoryAccessPolicy("arn:aws:ecr:us-east-1:123456789012:repository/x"),
		},
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Desired)
		want   string // "" for valid
	}{
		{"valid", func(*Desired) {}, ""},
		{"role name 64", func(d *Desired) { d.Role.Name = strings.Repeat("r", 64) }, ""},
		{"role name 65", func(d *Desired) { d.Role.Name = strings.Repeat("r", 65) }, "is 65 characters; AWS accepts 1 to 64"},
		{"role name with space", func(d *Desired) { d.Role.Name = "a b" }, "may hold only letters"},
		{"role path without slashes", func(d *Desired) { d.Role.Path = "promisekit" }, "role path"},
		{"trust policy not JSON", func(d *Desired) { d.Role.TrustPolicy = "allow" }, "role trust policy: not a JSON object"},
		{"trust policy too long", func(d *Desired) {
			d.Role.TrustPolicy = `{"Sid":"` + strings.Repeat("x", 2100) + `"}`
		}, "AWS accepts 2048"},
		{"upper-case repository", func(d *Desired) { d.Repository.Name = "Team/dev" }, "repository name"},
		{"lifecycle too short", func(d *Desired) { d.Repository.LifecyclePolicy = `{"rules":[]}` }, "AWS accepts 100 to 30720"},
		{"lifecycle not JSON", func(d *Desired) { d.Repository.LifecyclePolicy = strings.Repeat("x", 120) }, "lifecycle policy: not a JSON object"},
		{"KMS key with AES256", func(d *Desired) { d.Repository.KMSKey = "k" }, "only with encryption type KMS"},
		{"aws: tag", func(d *Desired) { d.Tags = map[string]string{"aws:x": "y"} }, `tag key "aws:x"`},
		{"no owner", func(d *Desired) { d.Owner = "" }, "owner: required"},
		{"managed policy not an ARN", func(d *Desired) { d.Role.ManagedPolicyARNs = []string{"ReadOnly"} }, "not a policy ARN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validDesired()
			tt.mutate(&d)
			err := Validate(d)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestSamePolicy(t *testing.T) {
	doc := RepositoryAccessPolicy("arn:aws:ecr:us-east-1:123456789012:repository/x")
	var spaced any
	json.Unmarshal([]byte(doc), &spaced)
	pretty, _ := json.MarshalIndent(spaced, "", "  ")
	tests := []struct {
		name, current string
		same          bool
	}{
		{"identical", doc, true},
		{"URL-encoded, as IAM returns it", url.QueryEscape(doc), true},
		{"re-spaced", string(pretty), true},
		{"other resource", RepositoryAccessPolicy("*"), false},
		{"garbage", "%%%", false},
	}
	for _, tt := range tests {
		if got := SamePolicy(tt.current, doc); got != tt.same {
			t.Errorf("%s: SamePolicy = %t, want %t", tt.name, got, tt.same)
		}
	}
}

// TestIRSATrustPolicyAdmitsOneServiceAccount pins the trust policy's
// conditions: exactly one subject and the STS audience.
func TestIRSATrustPolicyAdmitsOneServiceAccount(t *testing.T) {
	var doc struct {
		Statement []struct {
			Principal map[string]string
			Action    string
			Condition map[string]map[string]string
		}
	}
	if err := json.Unmarshal([]byte(IRSATrustPolicy("123456789012", "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC", "ns", "app")), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Statement) != 1 {
		t.Fatalf("%d statements", len(doc.Statement))
	}
	s := doc.Statement[0]
	host := "oidc.eks.eu-west-1.amazonaws.com/id/ABC"
	if s.Principal["Federated"] != "arn:aws:iam::123456789012:oidc-provider/"+host || s.Action != "sts:AssumeRoleWithWebIdentity" {
		t.Errorf("principal %v action %q", s.Principal, s.Action)
	}
	want := map[string]string{host + ":sub": "system:serviceaccount:ns:app", host + ":aud": "sts.amazonaws.com"}
	if got := s.Condition["StringEquals"]; len(got) != 2 || got[host+":sub"] != want[host+":sub"] || got[host+":aud"] != want[host+":aud"] || len(s.Condition) != 1 {
		t.Errorf("conditions %v, want StringEquals %v only", s.Condition, want)
	}
}
