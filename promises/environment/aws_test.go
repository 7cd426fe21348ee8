package environment

import (
	"testing"
	"time"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/promises/environment/awsinfra"
)

// TestRetiredPodIdentity: an association an earlier api-mode run made is
// handed to AWS for deletion when Pod Identity is turned off or moves, and
// only then.
func TestRetiredPodIdentity(t *testing.T) {
	const base = `aws: {mode: api, region: us-east-1, accountID: "123456789012", oidcIssuer: https://oidc.eks.us-east-1.amazonaws.com/id/X`
	made := &podIdentityRecord{ClusterName: "platform", Namespace: "default-checkout-preview", ServiceAccount: "app", AssociationID: "a-1"}
	tests := []struct {
		name    string
		config  string
		mode    string // of the earlier run
		made    *podIdentityRecord
		retired *awsinfra.PodIdentity
	}{
		{"still wanted", base + `, podIdentity: {enabled: true, clusterName: platform}}`, AWSAPI, made, nil},
		{"turned off", base + `}`, AWSAPI, made, &awsinfra.PodIdentity{ClusterName: "platform", Namespace: "default-checkout-preview", ServiceAccount: "app"}},
		{"another cluster", base + `, podIdentity: {enabled: true, clusterName: other}}`, AWSAPI, made, &awsinfra.PodIdentity{ClusterName: "platform", Namespace: "default-checkout-preview", ServiceAccount: "app"}},
		{"never made", base + `}`, AWSAPI, nil, nil},
		{"made by ACK", base + `}`, AWSACK, made, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := kratix.ParseObject(request(t, "examples/preview.yaml", nil))
			if err != nil {
				t.Fatal(err)
			}
			config := writeConfig(t, tt.config)
			req := &kratix.Request{Object: obj, Now: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC), ConfigPath: config, Getenv: func(string) string { return "" }}
			p, err := load(req)
			if err != nil {
				t.Fatal(err)
			}
			p.rec.AWS = &awsRecord{Mode: tt.mode, Region: "us-east-1", RepositoryName: "environments/default-checkout-preview", RoleName: "env-default-checkout-preview", PodIdentity: tt.made, Ensured: true}
			got := p.planAWS().desired.RetiredPodIdentity
			if (got == nil) != (tt.retired == nil) || (got != nil && *got != *tt.retired) {
				t.Errorf("retired = %+v, want %+v", got, tt.retired)
			}
		})
	}
}
