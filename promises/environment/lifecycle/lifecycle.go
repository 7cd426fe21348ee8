// Package lifecycle is the environment promise's lifecycle stage, wired to
// the outside: AWS through the AWS SDK (package awsapi) and the platform's
// API server (package platformapi). Its logic is in package environment;
// this package only chooses the real clients, so that the manifest stage's
// binary needs neither.
package lifecycle

import (
	"context"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/platformapi"
	"github.com/promisekit/promisekit/promises/environment"
	"github.com/promisekit/promisekit/promises/environment/awsinfra/awsapi"
)

// Workflows are the lifecycle stage's.
func Workflows() kratix.Workflows {
	return environment.LifecycleWorkflows(environment.Outside{NewAWS: newAWS, DeleteRequest: DeleteRequest})
}

func newAWS(ctx context.Context, region string, getenv func(string) string) (environment.AWS, error) {
	return awsapi.New(ctx, region, getenv)
}

// DeleteRequest deletes the request a stage runs for, with its UID as
// precondition, through the platform API where the stage runs: the
// cluster's API server in a Pod, the local runner's object directory under
// kratix-run.
func DeleteRequest(ctx context.Context, req *kratix.Request) error {
	api, err := platformapi.New(req.Getenv)
	if err != nil {
		return err
	}
	return DeleteWith(ctx, api, req)
}

// DeleteWith deletes the request through api.
func DeleteWith(ctx context.Context, api *platformapi.Client, req *kratix.Request) error {
	r := platformapi.Resource{Group: req.Env.ObjectGroup, Version: req.Env.ObjectVersion, Plural: req.Env.CRDPlural}
	m := req.Object.Metadata
	return api.Delete(ctx, r, m.Namespace, m.Name, m.UID)
}
