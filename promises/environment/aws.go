package environment

import (
	"context"
	"fmt"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/promises/environment/awsinfra"
)

// awsRecord remembers the environment's AWS resources. Their names are
// fixed at the first run, so that a later change of the configured prefixes
// never orphans them.
type awsRecord struct {
	Mode           string             `json:"mode"`
	Region         string             `json:"region"`
	RepositoryName string             `json:"repositoryName"`
	RoleName       string             `json:"roleName"`
	PodIdentity    *podIdentityRecord `json:"podIdentity,omitempty"`
	// Ensured is set once the stage has created or adopted the
	// resources in api mode: later runs describe them first instead of
	// creating them first.
	Ensured bool `json:"ensured,omitempty"`
}

type podIdentityRecord struct {
	ClusterName    string `json:"clusterName"`
	Namespace      string `json:"namespace"`
	ServiceAccount string `json:"serviceAccount"`
	AssociationID  string `json:"associationID,omitempty"`
}

// awsPlan is the environment's AWS resources in api or ack mode.
type awsPlan struct {
	mode    string
	desired awsinfra.Desired
	record  awsRecord
	// The resources' names in AWS, known before they exist: the manifests
	// name the role in IRSA annotations, and ACK needs no more.
	repositoryURI, roleARN string
}

// promiseTag names the promise on every AWS resource, for orphan sweeps.
const promiseTag = "kratix.io/promise"

func (p *plan) planAWS() *awsPlan {
	a := p.cfg.AWS
	if a.Mode == AWSNone {
		return nil
	}
	rec := awsRecord{Mode: a.Mode, Region: a.Region}
	if old := p.rec.AWS; old != nil {
		rec = *old
		if rec.Mode != a.Mode {
			rec.Mode, rec.Ensured = a.Mode, false
		}
	}
	if rec.RepositoryName == "" {
		rec.RepositoryName = a.Repository.Prefix + "/" + p.namespace
	}
	if rec.RoleName == "" {
		rec.RoleName = shortName(a.Role.Prefix+p.namespace, 64)
	}
	if rec.Region == "" {
		rec.Region = a.Region
	}
	d := desiredAWS(p.cfg, p.owner, rec)
	trust := awsinfra.IRSATrustPolicy(a.AccountID, a.OIDCIssuer, p.namespace, p.serviceAccount)
	rec.PodIdentity = nil
	if a.PodIdentity.Enabled {
		trust = awsinfra.PodIdentityTrustPolicy(p.namespace, p.serviceAccount)
		d.PodIdentity = &awsinfra.PodIdentity{ClusterName: a.PodIdentity.ClusterName, Namespace: p.namespace, ServiceAccount: p.serviceAccount}
		rec.PodIdentity = &podIdentityRecord{ClusterName: a.PodIdentity.ClusterName, Namespace: p.namespace, ServiceAccount: p.serviceAccount}
		if old := p.rec.AWS; old != nil && old.PodIdentity != nil && *d.PodIdentity == (awsinfra.PodIdentity{ClusterName: old.PodIdentity.ClusterName, Namespace: old.PodIdentity.Namespace, ServiceAccount: old.PodIdentity.ServiceAccount}) {
			rec.PodIdentity.AssociationID = old.PodIdentity.AssociationID
		}
	}
	if old := p.rec.AWS; old != nil && old.Mode == AWSAPI && old.PodIdentity != nil {
		made := awsinfra.PodIdentity{ClusterName: old.PodIdentity.ClusterName, Namespace: old.PodIdentity.Namespace, ServiceAccount: old.PodIdentity.ServiceAccount}
		if d.PodIdentity == nil || *d.PodIdentity != made {
			// Kept in the record until a run has deleted it: the
			// record changes only when a run succeeds.
			d.RetiredPodIdentity = &made
		}
	}
	d.Role.TrustPolicy = trust
	return &awsPlan{
		mode: a.Mode, desired: d, record: rec,
		repositoryURI: awsinfra.RepositoryURI(rec.Region, a.AccountID, rec.RepositoryName),
		roleARN:       awsinfra.RoleARN(a.AccountID, a.Role.Path, rec.RoleName),
	}
}

// desiredAWS is the repository and role named in rec, as the configuration
// shapes them; the trust policy is the caller's.
func desiredAWS(cfg *Config, owner string, rec awsRecord) awsinfra.Desired {
	a := cfg.AWS
	return awsinfra.Desired{
		Owner: owner,
		Tags:  map[string]string{promiseTag: "environment"},
		Repository: awsinfra.Repository{
			Name:               rec.RepositoryName,
			ImageTagMutability: a.Repository.ImageTagMutability,
			ScanOnPush:         a.Repository.ScanOnPush,
			EncryptionType:     a.Repository.Encryption,
			KMSKey:             a.Repository.KMSKey,
			LifecyclePolicy:    a.Repository.LifecyclePolicy,
			Retain:             a.Repository.Retention == "retain",
		},
		Role: awsinfra.Role{
			Name:              rec.RoleName,
			Path:              a.Role.Path,
			Description:       "Workloads of environment " + owner + " (Kratix promise environment)",
			InlinePolicyName:  "repository-access",
			InlinePolicy:      awsinfra.RepositoryAccessPolicy(awsinfra.RepositoryARN(rec.Region, a.AccountID, rec.RepositoryName)),
			ManagedPolicyARNs: a.Role.ManagedPolicies,
		},
	}
}

// ensureAWS creates or repairs the resources. Resources an earlier run
// ensured are described first; otherwise created first, so that an
// interrupted first run is adopted by AWS's "already exists".
func (p *plan) ensureAWS(ctx context.Context, o Outside) (*awsinfra.Result, error) {
	client, err := o.newAWS(ctx, p.cfg, p.aws.record.Region, p.req.Getenv)
	if err != nil {
		return nil, err
	}
	ensured := p.aws.record.Ensured
	out, err := client.Ensure(ctx, p.aws.desired, awsinfra.Known{Repository: ensured, Role: ensured}, p.req.Env.DryRun)
	if err != nil {
		return nil, err
	}
	if out.RoleARN != "" && out.RoleARN != p.aws.roleARN {
		out.Unrepaired = append(out.Unrepaired, fmt.Sprintf("the role's ARN is %s, not %s as the manifests say", out.RoleARN, p.aws.roleARN))
	}
	return out, nil
}

// deletionTarget is what the delete workflow must remove from AWS: what
// the record names if an earlier run made it in api mode, else what the
// configuration would name, in case a first run was interrupted after
// creating something. ok is false when AWS holds nothing of this request.
func deletionTarget(obj *kratix.Object, cfg *Config, rec record) (d awsinfra.Desired, region string, ok bool) {
	old := rec.AWS
	switch {
	case old != nil && old.Mode == AWSAPI:
	case cfg.AWS.Mode == AWSAPI:
		namespace := rec.Namespace
		if namespace == "" {
			namespace = hostNamespace(obj)
		}
		old = &awsRecord{
			Region:         cfg.AWS.Region,
			RepositoryName: cfg.AWS.Repository.Prefix + "/" + namespace,
			RoleName:       shortName(cfg.AWS.Role.Prefix+namespace, 64),
		}
	default:
		return d, "", false
	}
	owner := obj.Metadata.Namespace + "/" + obj.Metadata.Name
	d = desiredAWS(cfg, owner, *old)
	// Validation wants a trust policy; deleting never sends it.
	d.Role.TrustPolicy = "{}"
	if pi := old.PodIdentity; pi != nil {
		d.PodIdentity = &awsinfra.PodIdentity{ClusterName: pi.ClusterName, Namespace: pi.Namespace, ServiceAccount: pi.ServiceAccount}
	}
	return d, old.Region, true
}

// ackDocuments are the ACK resources of ack mode, in the platform's ACK
// namespace: ACK creates, repairs and (per the deletion policy) deletes the
// AWS resources, the way the api mode does from the stage.
func (p *plan) ackDocuments() []any {
	a := p.cfg.AWS
	d := p.aws.desired
	var tags []ackTag
	for _, k := range sortedKeys(d.Tags) {
		tags = append(tags, ackTag{Key: k, Value: d.Tags[k]})
	}
	tags = append(tags, ackTag{Key: awsinfra.OwnerTag, Value: d.Owner})
	policy := "delete"
	annotations := map[string]string{"services.k8s.aws/region": p.aws.record.Region}
	if d.Repository.Retain {
		policy = "retain"
	} else {
		annotations["ecr.services.k8s.aws/force-delete"] = "true"
	}
	annotations["services.k8s.aws/deletion-policy"] = policy

	repo := object[ackRepositorySpec]{
		APIVersion: "ecr.services.k8s.aws/v1alpha1", Kind: "Repository",
		Metadata: meta{Name: p.namespace, Namespace: a.ACK.Namespace, Labels: p.labels(), Annotations: annotations},
		Spec: ackRepositorySpec{
			Name: d.Repository.Name, ImageTagMutability: d.Repository.ImageTagMutability,
			LifecyclePolicy: d.Repository.LifecyclePolicy, Tags: tags,
		},
	}
	repo.Spec.ImageScanningConfiguration.ScanOnPush = d.Repository.ScanOnPush
	repo.Spec.EncryptionConfiguration.EncryptionType = d.Repository.EncryptionType
	repo.Spec.EncryptionConfiguration.KMSKey = d.Repository.KMSKey

	iamRole := object[ackRoleSpec]{
		APIVersion: "iam.services.k8s.aws/v1alpha1", Kind: "Role",
		Metadata: meta{Name: p.namespace, Namespace: a.ACK.Namespace, Labels: p.labels(), Annotations: map[string]string{
			"services.k8s.aws/region": p.aws.record.Region, "services.k8s.aws/deletion-policy": "delete",
		}},
		Spec: ackRoleSpec{
			Name: d.Role.Name, Path: d.Role.Path, Description: d.Role.Description,
			AssumeRolePolicyDocument: d.Role.TrustPolicy,
			InlinePolicies:           map[string]string{d.Role.InlinePolicyName: d.Role.InlinePolicy},
			Policies:                 d.Role.ManagedPolicyARNs,
			Tags:                     tags,
		},
	}
	docs := []any{repo, iamRole}
	if pi := d.PodIdentity; pi != nil {
		docs = append(docs, object[ackPodIdentitySpec]{
			APIVersion: "eks.services.k8s.aws/v1alpha1", Kind: "PodIdentityAssociation",
			Metadata: meta{Name: p.namespace, Namespace: a.ACK.Namespace, Labels: p.labels(), Annotations: map[string]string{
				"services.k8s.aws/region": p.aws.record.Region,
			}},
			Spec: ackPodIdentitySpec{ClusterName: pi.ClusterName, Namespace: pi.Namespace, ServiceAccount: pi.ServiceAccount, RoleARN: p.aws.roleARN},
		})
	}
	return docs
}

// irsaAnnotations annotate the workload service account with its role
// (IRSA). Pod Identity needs no annotation.
func (p *plan) irsaAnnotations() map[string]string {
	if p.aws == nil || p.aws.desired.PodIdentity != nil {
		return nil
	}
	return map[string]string{"eks.amazonaws.com/role-arn": p.aws.roleARN}
}
