package environment

import (
	"fmt"
	"strings"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/promises/environment/awsinfra"
)

// What status.aws says of the environment's AWS resources: never "ready",
// which only the destination could tell.
const (
	awsNone     = "none"     // AWS mode none: nothing to make
	awsDeclared = "declared" // ack mode: the ACK resources are in the manifests
	awsPending  = "pending"  // api mode: not made or found yet
	awsEnsured  = "ensured"  // api mode: the stage made or found them
)

// deletedMessage is a delete run's message when AWS holds nothing of the
// request.
const deletedMessage = "Environment deleted; Kratix removes its manifests"

func (p *plan) expiredMessage(what string) string {
	return "Expired at " + p.rec.ExpiresAt + "; " + what
}

// result is the run's status, with a placeholder message and without
// documents. ensured is what the stage found in AWS, if it looked.
func (p *plan) result(ensured *awsinfra.Result) (*kratix.Result, error) {
	res := &kratix.Result{Message: "Environment configured"}
	connectTo := "kubectl --namespace " + p.namespace
	if p.typ.Isolation == IsolationVCluster {
		connectTo = "vcluster connect " + p.release + " --namespace " + p.namespace
	}
	if p.dest.name != "" {
		res.SetStatus("destination", p.dest.name)
		// Documents go out on every run but one: the first run of a
		// request that has already expired (plan.expire). Kratix fails
		// the Work for a selector whose directory does not exist.
		if p.found || !p.expired() {
			res.DestinationSelectors = []kratix.DestinationSelector{{Directory: p.dest.name, MatchLabels: p.dest.labels}}
		}
	}
	res.SetStatus("type", p.spec.Type)
	res.SetStatus("isolation", p.typ.Isolation)
	res.SetStatus("connectTo", connectTo)
	res.SetStatus("quota", p.cfg.Quotas[p.typ.Quota].Hard)
	res.SetStatus("expiresAt", p.rec.ExpiresAt)
	awsState, repositoryURI, roleARN := awsNone, "", ""
	if a := p.aws; a != nil {
		repositoryURI, roleARN = a.repositoryURI, a.roleARN
		if ensured != nil && !p.req.Env.DryRun {
			a.record.Ensured = true
			if a.record.PodIdentity != nil {
				a.record.PodIdentity.AssociationID = ensured.PodIdentityAssociationID
			}
		}
		awsState = awsDeclared // ACK makes them on the destination, where no stage looks
		if a.mode == AWSAPI {
			awsState = awsPending
			if a.record.Ensured {
				awsState = awsEnsured
			}
		}
		p.rec.AWS = &a.record
	}
	res.SetStatus("aws", awsState)
	// An earlier release's key, which said "ready" of what no stage can see.
	res.ClearStatus(p.req.Object, "infraReady")
	res.SetStatus("repositoryURI", repositoryURI)
	res.SetStatus("roleARN", roleARN)
	if err := stateCodec.Store(res, p.rec); err != nil {
		return nil, err
	}
	return res, nil
}

func (p *plan) message(ensured *awsinfra.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Environment configured: %s isolation in namespace %s", p.typ.Isolation, p.namespace)
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

// result is a delete run's result, from what AWS answered.
func (p *deletePlan) result(out *awsinfra.Result) *kratix.Result {
	d := p.target
	res := &kratix.Result{Message: deletedMessage}
	switch dryRun := p.in.Env.DryRun; {
	case dryRun && len(out.Changes) == 0:
		res.Message = "Dry run: nothing to delete in AWS"
	case dryRun:
		res.Message = "Dry run: " + strings.Join(out.Changes, ", ")
	case d.Repository.Retain:
		res.Message = fmt.Sprintf("Environment deleted; IAM role removed, ECR repository %q kept as configured", d.Repository.Name)
	default:
		res.Message = "Environment deleted, with its ECR repository and IAM role"
	}
	if len(out.Unrepaired) > 0 {
		res.Message += "; " + strings.Join(out.Unrepaired, "; ")
	}
	return res
}
