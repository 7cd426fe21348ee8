package environment

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/overlays"
	"github.com/promisekit/promisekit/promises/environment/awsinfra"
)

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
	// NewAWS returns a client for region whose every attempt of a call
	// ends after attemptTimeout, with credentials and endpoints from
	// getenv (the AWS SDK's own variables); nil in a binary built without
	// the AWS SDK.
	NewAWS func(ctx context.Context, region string, attemptTimeout time.Duration, getenv func(string) string) (AWS, error)
	// DeleteRequest deletes the request of req from the platform API,
	// with its UID as precondition, each call limited to timeout; nil in
	// a binary built without an HTTP client.
	DeleteRequest func(ctx context.Context, req *kratix.Request, timeout time.Duration) error
	// HandOver replaces the process with a binary that has what this one
	// lacks, to run the same stage from the start; it returns only on
	// failure. It is called before anything is written or changed. Nil
	// makes a missing client an error.
	HandOver func() error
	// Overlays runs the platform's overlays: main runs them in the
	// sibling binary (overlays.Sibling), since neither environment binary
	// links ytt.
	Overlays overlays.Runner
}

// newAWS returns an AWS client for region, as cfg configures it.
func (o Outside) newAWS(ctx context.Context, cfg *Config, region string, getenv func(string) string) (AWS, error) {
	if o.NewAWS == nil {
		return nil, o.handOver("the AWS SDK")
	}
	return o.NewAWS(ctx, region, cfg.AWS.AttemptTimeout.Or(defaultAWSAttemptTimeout), getenv)
}

func (o Outside) deleteRequest(ctx context.Context, cfg *Config, req *kratix.Request) error {
	if o.DeleteRequest == nil {
		return o.handOver("an HTTP client")
	}
	return o.DeleteRequest(ctx, req, cfg.PlatformAPITimeout.Or(defaultPlatformAPITimeout))
}

func (o Outside) handOver(missing string) error {
	if o.HandOver == nil {
		return fmt.Errorf("this binary is built without %s", missing)
	}
	return fmt.Errorf("this binary is built without %s, and starting the one with it failed: %w", missing, o.HandOver())
}

// Act carries out a configure plan: an expired request deletes itself;
// otherwise api mode creates or repairs the AWS resources.
func (p *plan) Act(ctx context.Context, o Outside) (*kratix.Result, error) {
	var err error
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
	if err := o.deleteRequest(ctx, p.cfg, p.req); err != nil {
		return nil, fmt.Errorf("deleting the expired request: %w", err)
	}
	res.Message = p.expiredMessage("this request has been deleted, and the delete workflow removes the environment")
	return res, nil
}

// Act deletes what api mode made in AWS.
func (p *deletePlan) Act(ctx context.Context, o Outside) (*kratix.Result, error) {
	dryRun := p.in.Env.DryRun
	client, err := o.newAWS(ctx, p.in.Config, p.region, p.in.Getenv)
	if err != nil {
		return nil, err
	}
	out, err := client.Delete(ctx, p.target, dryRun)
	if err != nil {
		return nil, err
	}
	return p.result(out), nil
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
	var notOwned *awsinfra.NotOwnedError
	if errors.As(err, &notOwned) && p.found && p.rec.AWS != nil {
		// The names came from the request's status, which is not
		// trusted to name an outside object: the owner tag said no.
		return nil, &kratix.FieldError{Field: "status." + stateCodec.Key + ".aws", Detail: notOwned.Error()}
	}
	if err != nil {
		return nil, err
	}
	if out.RoleARN != "" && out.RoleARN != p.aws.roleARN {
		out.Unrepaired = append(out.Unrepaired, fmt.Sprintf("the role's ARN is %s, not %s as the manifests say", out.RoleARN, p.aws.roleARN))
	}
	return out, nil
}
