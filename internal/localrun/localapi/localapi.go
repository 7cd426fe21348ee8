// Package localapi is the local runner's side of the platform API contract
// with a stage binary: the variable that names the directory of objects the
// runner keeps in place of an API server.
//
// A binary's main gives its stages Connect, which reads it: when it is
// set, the stages get a platformapi.Dir on that directory instead of the
// cluster's API server. It is a package of its own so that the binaries
// need not link the runner.
package localapi

import "github.com/promisekit/promisekit/pkg/platformapi"

// Variable names the directory of objects (laid out as platformapi.LocalPath
// says) that the local runner sets for every container it runs.
const Variable = "PROMISEKIT_LOCAL_API"

// Connect is the platform API where a stage runs: the local runner's
// directory of objects when the runner names one, else the cluster's API
// server through the Pod's service account. The options apply to the
// latter; the directory answers at once.
func Connect(getenv func(string) string, opts ...platformapi.Option) (platformapi.API, error) {
	if dir := getenv(Variable); dir != "" {
		return platformapi.NewDir(dir), nil
	}
	c, err := platformapi.NewInCluster(getenv, opts...)
	if err != nil {
		return nil, err
	}
	return c, nil
}
