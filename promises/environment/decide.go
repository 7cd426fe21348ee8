package environment

import (
	"fmt"
	"time"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/stage"
	"github.com/promisekit/promisekit/promises/environment/awsinfra"
)

// input is what the environment workflows decide from.
type input = stage.Input[Spec, Config, record]

// plan is everything a run decides from the request, the configuration and
// the record, before any outside call.
type plan struct {
	req   *kratix.Request
	cfg   *Config
	spec  *Spec
	typ   TypeConfig
	rec   record
	found bool // the record was there: this is not the first run

	owner     string // "<namespace>/<name>" of the request
	namespace string // the host namespace
	release   string // the vcluster's Helm release (vcluster isolation)
	// serviceAccount is the workloads' service account as the host cluster
	// names it: what IRSA and Pod Identity must name.
	serviceAccount string
	expiresAt      time.Time           // zero: no expiry
	aws            *awsPlan            // nil in AWS mode none
	dest           destinationSettings // the cluster the manifests go to
}

// decideConfigure is the configure workflow's decision: the whole plan
// but for what AWS answers in api mode.
func decideConfigure(in *input) (stage.Plan[Outside], error) {
	return newPlan(in)
}

func newPlan(in *input) (*plan, error) {
	req, cfg, spec := in.Request, in.Config, &in.Spec
	if err := validateSpec(req.Object, spec, cfg); err != nil {
		return nil, err
	}
	dest, err := cfg.place(spec.Destination)
	if err != nil {
		return nil, err
	}
	if err := checkMove(in, cfg, dest); err != nil {
		return nil, err
	}
	obj := req.Object
	p := &plan{
		req: req, cfg: cfg, spec: spec, typ: cfg.Types[spec.Type], rec: in.State, found: in.Found,
		owner: in.Namespace + "/" + obj.Metadata.Name, dest: dest,
	}
	p.namespace = in.State.Namespace
	if p.namespace == "" {
		p.namespace = hostNamespace(obj)
	}
	p.serviceAccount = cfg.Namespace.ServiceAccount
	if p.typ.Isolation == IsolationVCluster {
		// Helm release names are at most 53 characters.
		p.release = shortName(obj.Metadata.Name, 53)
		p.serviceAccount = vclusterHostName(cfg.Namespace.ServiceAccount, cfg.AppStack.Namespace, p.release)
	}
	if err := p.lifetime(); err != nil {
		return nil, err
	}
	p.rec.Namespace = p.namespace
	p.rec.Destination = dest.name
	p.aws = p.planAWS()
	return p, nil
}

// checkMove refuses to move an environment to another destination in ack
// mode. Kratix moves the manifests: the GitOps agent of the old cluster
// prunes them, that of the new one applies them. In ack mode the ECR
// repository and IAM role are among them, and ACK on the old cluster would
// delete them (with the repository's images, unless it is retained) while
// ACK on the new one creates them again, or fails because they still
// exist. A first destinationSettings of an environment made before the platform
// listed destinations is no move: the platform names the cluster it was
// on as the default.
func checkMove(in *input, cfg *Config, dest destinationSettings) error {
	from := in.State.Destination
	if !in.Found || from == "" || from == dest.name || cfg.AWS.Mode != AWSACK {
		return nil
	}
	field := "spec.destination"
	if in.Spec.Destination == "" {
		field = "config.defaultDestination"
	}
	return &kratix.FieldError{Field: field, Detail: fmt.Sprintf("environment %s/%s is on destination %s and cannot move to %s in ack mode: ACK on %s would delete its ECR repository and IAM role while ACK on %s creates them again; delete the request and create it again", in.Namespace, in.Object.Metadata.Name, from, dest.name, from, dest.name)}
}

func hostNamespace(obj *kratix.Object) string {
	return shortName(obj.Metadata.Namespace+"-"+obj.Metadata.Name, 63)
}

// lifetime settles the expiry. Its start is kept in the record at the first
// run, so a changed ttl moves the expiry relative to the creation, and the
// expiry never depends on when a run happens.
func (p *plan) lifetime() error {
	if p.rec.TTLFrom == "" {
		from := p.req.Now.UTC()
		if t, err := time.Parse(time.RFC3339, p.req.Object.Metadata.CreationTimestamp); err == nil {
			from = t.UTC()
		}
		p.rec.TTLFrom = from.Format(time.RFC3339)
	}
	from, err := time.Parse(time.RFC3339, p.rec.TTLFrom)
	if err != nil {
		return fmt.Errorf("status.environment.ttlFrom: %q is not an RFC 3339 time", p.rec.TTLFrom)
	}
	ttl := p.spec.TTL
	if ttl == "" {
		ttl = p.typ.DefaultTTL
	}
	p.rec.ExpiresAt = ""
	if ttl == "" {
		return nil
	}
	d, err := parseTTL(ttl)
	if err != nil {
		return err // validated with the request or the configuration
	}
	p.expiresAt = from.Add(d)
	p.rec.ExpiresAt = p.expiresAt.Format(time.RFC3339)
	return nil
}

func (p *plan) expired() bool {
	return !p.expiresAt.IsZero() && !p.req.Now.Before(p.expiresAt)
}

// deletePlan is the delete workflow's decision: what to remove from AWS.
type deletePlan struct {
	in     *input
	target awsinfra.Desired
	region string
}

// decideDelete is the delete workflow's decision. Manifests need no
// removal here: Kratix deletes the environment's Work, and the GitOps agent
// prunes what it applied. AWS resources made in api mode are deleted, in
// the order AWS requires. The request is not validated again: a request
// that was valid when it was created must always be deletable.
func decideDelete(in *input) (stage.Plan[Outside], error) {
	d, region, ok := deletionTarget(in.Object, in.Config, in.State)
	if !ok {
		return stage.Done[Outside]{Result: &kratix.Result{Message: deletedMessage}}, nil
	}
	return &deletePlan{in: in, target: d, region: region}, nil
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
	trust := awsinfra.IRSATrustPolicy(a.AccountID, p.dest.oidcIssuer, p.namespace, p.serviceAccount)
	rec.PodIdentity = nil
	if a.PodIdentity.Enabled {
		trust = awsinfra.PodIdentityTrustPolicy(p.namespace, p.serviceAccount)
		d.PodIdentity = &awsinfra.PodIdentity{ClusterName: p.dest.podIdentityClusterName, Namespace: p.namespace, ServiceAccount: p.serviceAccount}
		rec.PodIdentity = &podIdentityRecord{ClusterName: p.dest.podIdentityClusterName, Namespace: p.namespace, ServiceAccount: p.serviceAccount}
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
