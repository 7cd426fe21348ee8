// Package outside connects the environment stage to the systems beyond the
// state store: AWS through the AWS SDK (package awsinfra/awsapi) and the
// platform's API server (package platformapi). Only the environment-aws
// binary links it; the environment binary, which serves ack mode, has
// neither and hands over to environment-aws when a run needs them (see
// environment.Outside).
package outside

import (
	"context"
	"time"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/platformapi"
	"github.com/promisekit/promisekit/promises/environment"
	"github.com/promisekit/promisekit/promises/environment/awsinfra/awsapi"
)

// New returns the real clients, with the platform API connect returns.
func New(connect platformapi.Connect) environment.Outside {
	return environment.Outside{NewAWS: newAWS, DeleteRequest: DeleteRequest(connect)}
}

func newAWS(ctx context.Context, region string, attemptTimeout time.Duration, getenv func(string) string) (environment.AWS, error) {
	return awsapi.New(ctx, region, attemptTimeout, getenv)
}

// DeleteRequest returns environment.Outside's DeleteRequest: it deletes the
// request a stage runs for, with its UID as precondition, through the
// platform API connect returns.
func DeleteRequest(connect platformapi.Connect) func(ctx context.Context, req *kratix.Request, timeout time.Duration) error {
	return func(ctx context.Context, req *kratix.Request, timeout time.Duration) error {
		api, err := connect(req.Getenv, platformapi.WithTimeout(timeout))
		if err != nil {
			return err
		}
		return deleteRequestWith(ctx, api, req)
	}
}

func deleteRequestWith(ctx context.Context, api platformapi.API, req *kratix.Request) error {
	r := platformapi.Resource{Group: req.Env.ObjectGroup, Version: req.Env.ObjectVersion, Plural: req.Env.CRDPlural}
	m := req.Object.Metadata
	return api.Delete(ctx, r, m.Namespace, m.Name, m.UID)
}
