// Package environment is the environment promise: a team asks for a
// development environment by name and type, and gets an isolated namespace
// or a vcluster, the application stack installed into it by Argo CD, access
// for its group, and (optionally) an ECR repository with an IAM role that
// only the environment's workloads can assume. What a type means
// (isolation, quota profile, chart values, lifetime) is the platform's
// choice, in the promise's configuration (see Config).
//
// Each workflow is one stage. Configure decides a plan from the request,
// the configuration and the status, creates or repairs the AWS resources in
// api mode, deletes the request once its lifetime is over, and writes the
// manifests and the status. Delete removes what api mode made in AWS.
//
// The stage reaches outside systems through Outside, so that it can be
// built without them: pipelines/environment is that lean binary, enough for
// every run in ack mode but the one that deletes an expired request. When a
// run needs AWS or the platform API, it hands over to
// pipelines/environment/environment-aws, the same stage with the AWS SDK
// and an HTTP client (package outside), shipped in the same image.
package environment

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/state"
	"github.com/promisekit/promisekit/promises/environment/awsinfra"
)

// Isolation kinds.
const (
	IsolationNamespace = "namespace"
	IsolationVCluster  = "vcluster"
)

// The API the stage serves, as promise.yaml defines it.
const (
	APIVersion = "platform.promisekit.dev/v1alpha1"
	Kind       = "Environment"
)

// Workflows are the stage's, reaching outside systems through o. Both
// refuse an object of another API before anything else.
func Workflows(o Outside) kratix.Workflows {
	checked := func(stage kratix.StageFunc) kratix.StageFunc {
		return func(ctx context.Context, req *kratix.Request) (*kratix.Result, error) {
			if err := req.Object.CheckKind(APIVersion, Kind); err != nil {
				return nil, err
			}
			return stage(ctx, req)
		}
	}
	return kratix.Workflows{ResourceConfigure: checked(o.configure), ResourceDelete: checked(o.delete)}
}

// AWS creates, repairs and deletes an environment's AWS resources
// (package awsinfra/awsapi). It is an interface so that the AWS SDK stays
// out of the binary that serves ack mode and AWS mode none.
type AWS interface {
	Ensure(ctx context.Context, d awsinfra.Desired, known awsinfra.Known, dryRun bool) (*awsinfra.Result, error)
	Delete(ctx context.Context, d awsinfra.Desired, dryRun bool) (*awsinfra.Result, error)
}

// Outside is how the stage reaches systems beyond the state store;
// package outside provides the real ones.
type Outside struct {
	// NewAWS returns a client for region, configured from getenv; nil
	// in a binary built without the AWS SDK.
	NewAWS func(ctx context.Context, region string, getenv func(string) string) (AWS, error)
	// DeleteRequest deletes the request of req from the platform API,
	// with its UID as precondition; nil in a binary built without an
	// HTTP client.
	DeleteRequest func(ctx context.Context, req *kratix.Request) error
	// HandOver replaces the process with a binary that has what this one
	// lacks, to run the same stage from the start; it returns only on
	// failure. It is called before anything is written or changed. Nil
	// makes a missing client an error.
	HandOver func() error
}

// newAWS returns an AWS client for region.
func (o Outside) newAWS(ctx context.Context, region string, getenv func(string) string) (AWS, error) {
	if o.NewAWS == nil {
		return nil, o.handOver("the AWS SDK")
	}
	return o.NewAWS(ctx, region, getenv)
}

func (o Outside) deleteRequest(ctx context.Context, req *kratix.Request) error {
	if o.DeleteRequest == nil {
		return o.handOver("an HTTP client")
	}
	return o.DeleteRequest(ctx, req)
}

func (o Outside) handOver(missing string) error {
	if o.HandOver == nil {
		return fmt.Errorf("this binary is built without %s", missing)
	}
	return fmt.Errorf("this binary is built without %s, and starting the one with it failed: %w", missing, o.HandOver())
}

// record is what the stage remembers between runs, in status.environment.
type record struct {
	// Namespace is the host namespace, fixed at the first run.
	Namespace string `json:"namespace"`
	// TTLFrom is when the lifetime started (the request's creation): the
	// expiry is always TTLFrom + ttl, never computed from "now".
	TTLFrom   string     `json:"ttlFrom"`
	ExpiresAt string     `json:"expiresAt,omitempty"`
	AWS       *awsRecord `json:"aws,omitempty"`
}

var stateCodec = state.Codec[record]{Key: "environment", Version: 1}

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
	expiresAt      time.Time // zero: no expiry
	aws            *awsPlan  // nil in AWS mode none
}

func load(req *kratix.Request) (*plan, error) {
	cfg, err := LoadConfig(req.Getenv)
	if err != nil {
		return nil, err
	}
	spec, err := decodeSpec(req.Object, cfg)
	if err != nil {
		return nil, err
	}
	rec, found, err := stateCodec.Load(req.Object)
	if err != nil {
		return nil, err
	}
	obj := req.Object
	p := &plan{
		req: req, cfg: cfg, spec: spec, typ: cfg.Types[spec.Type], rec: rec, found: found,
		owner: obj.Metadata.Namespace + "/" + obj.Metadata.Name,
	}
	p.namespace = rec.Namespace
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
	p.aws = p.planAWS()
	return p, nil
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

// configure is the configure workflow.
func (o Outside) configure(ctx context.Context, req *kratix.Request) (*kratix.Result, error) {
	p, err := load(req)
	if err != nil {
		return nil, err
	}
	if p.expired() {
		return p.expire(ctx, o)
	}
	var ensured *awsinfra.Result
	if p.aws != nil && p.aws.mode == AWSAPI {
		if ensured, err = p.ensureAWS(ctx, o); err != nil {
			return nil, err
		}
	}
	res, err := p.result(ensured)
	if err != nil {
		return nil, err
	}
	res.Documents = p.documents()
	res.Message = p.message(ensured)
	return res, nil
}

// expire deletes the request itself, once, through the platform API, with
// its UID as a precondition so that a newer request of the same name is
// never touched. It changes nothing else: no AWS call, the same manifests
// and the same status as the run before but for the message; the state
// store sees no change until the delete workflow runs. A request that
// expired before its first run gets no manifests at all: nothing is created
// that would go at once.
func (p *plan) expire(ctx context.Context, o Outside) (*kratix.Result, error) {
	res, err := p.result(nil)
	if err != nil {
		return nil, err
	}
	if p.found {
		res.Documents = p.documents()
	}
	if p.req.Env.DryRun {
		res.Message = p.expiredMessage("dry run, so this request was not deleted")
		return res, nil
	}
	if err := o.deleteRequest(ctx, p.req); err != nil {
		return nil, fmt.Errorf("deleting the expired request: %w", err)
	}
	res.Message = p.expiredMessage("this request has been deleted, and the delete workflow removes the environment")
	return res, nil
}

func (p *plan) expiredMessage(what string) string {
	return "Expired at " + p.rec.ExpiresAt + "; " + what
}

// result is the run's status, with a placeholder message and without
// documents. ensured is what the stage found in AWS, if it looked.
func (p *plan) result(ensured *awsinfra.Result) (*kratix.Result, error) {
	res := &kratix.Result{Message: "Environment ready"}
	connectTo := "kubectl --namespace " + p.namespace
	if p.typ.Isolation == IsolationVCluster {
		connectTo = "vcluster connect " + p.release + " --namespace " + p.namespace
	}
	res.SetStatus("type", p.spec.Type)
	res.SetStatus("isolation", p.typ.Isolation)
	res.SetStatus("connectTo", connectTo)
	res.SetStatus("quota", p.cfg.Quotas[p.typ.Quota].Hard)
	res.SetStatus("expiresAt", p.rec.ExpiresAt)
	infraReady, repositoryURI, roleARN := true, "", ""
	if a := p.aws; a != nil {
		repositoryURI, roleARN = a.repositoryURI, a.roleARN
		if ensured != nil && !p.req.Env.DryRun {
			a.record.Ensured = true
			if a.record.PodIdentity != nil {
				a.record.PodIdentity.AssociationID = ensured.PodIdentityAssociationID
			}
		}
		// In ack mode ACK reports readiness on the destination, where no
		// stage can see it.
		infraReady = a.mode == AWSAPI && a.record.Ensured
		p.rec.AWS = &a.record
	}
	res.SetStatus("infraReady", infraReady)
	res.SetStatus("repositoryURI", repositoryURI)
	res.SetStatus("roleARN", roleARN)
	if err := stateCodec.Store(res, p.rec); err != nil {
		return nil, err
	}
	return res, nil
}

func (p *plan) message(ensured *awsinfra.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Environment ready: %s isolation in namespace %s", p.typ.Isolation, p.namespace)
	if !p.expiresAt.IsZero() {
		fmt.Fprintf(&b, ", expires %s", p.rec.ExpiresAt)
	}
	switch {
	case p.aws == nil:
	case p.aws.mode == AWSACK:
		b.WriteString("; ECR repository and IAM role declared for ACK")
	case ensured == nil: // api mode always looks, but for an expired request
	case p.req.Env.DryRun:
		b.WriteString("; dry run")
		if len(ensured.Changes) > 0 {
			fmt.Fprintf(&b, ", %s", strings.Join(ensured.Changes, ", "))
		}
	default:
		b.WriteString("; ECR repository and IAM role in place")
		if len(ensured.Changes) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(ensured.Changes, ", "))
		}
	}
	if ensured != nil && len(ensured.Unrepaired) > 0 {
		fmt.Fprintf(&b, "; not repairable: %s", strings.Join(ensured.Unrepaired, "; "))
	}
	return b.String()
}

// delete is the delete workflow. Manifests need no
// removal here: Kratix deletes the environment's Work, and the GitOps agent
// prunes what it applied. AWS resources made in api mode are deleted, in
// the order AWS requires. The request is not validated again: a request
// that was valid when it was created must always be deletable.
func (o Outside) delete(ctx context.Context, req *kratix.Request) (*kratix.Result, error) {
	cfg, err := LoadConfig(req.Getenv)
	if err != nil {
		return nil, err
	}
	rec, _, err := stateCodec.Load(req.Object)
	if err != nil {
		return nil, err
	}
	res := &kratix.Result{Message: "Environment deleted; Kratix removes its manifests"}
	d, region, ok := deletionTarget(req.Object, cfg, rec)
	if !ok {
		return res, nil
	}
	client, err := o.newAWS(ctx, region, req.Getenv)
	if err != nil {
		return nil, err
	}
	out, err := client.Delete(ctx, d, req.Env.DryRun)
	if err != nil {
		return nil, err
	}
	switch {
	case req.Env.DryRun && len(out.Changes) == 0:
		res.Message = "Dry run: nothing to delete in AWS"
	case req.Env.DryRun:
		res.Message = "Dry run: " + strings.Join(out.Changes, ", ")
	case d.Repository.Retain:
		res.Message = fmt.Sprintf("Environment deleted; IAM role removed, ECR repository %q kept as configured", d.Repository.Name)
	default:
		res.Message = "Environment deleted, with its ECR repository and IAM role"
	}
	if len(out.Unrepaired) > 0 {
		res.Message += "; " + strings.Join(out.Unrepaired, "; ")
	}
	return res, nil
}
