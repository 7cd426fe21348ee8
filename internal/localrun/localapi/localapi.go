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

// ServerVariable names a connection directory (platformapi.ReadConnection)
// of a real API server standing in for the platform's, such as the demo's
// (cmd/demo-apiserver); the runner sets it instead of Variable when it
// runs against one.
const ServerVariable = "PROMISEKIT_LOCAL_API_SERVER"

// Connect is the platform API where a stage runs: the API server the
// local runner names, or its directory of objects, else the cluster's API
// server through the Pod's service account. The options apply to API
// servers; the directory answers at once.
func Connect(getenv func(string) string, opts ...platformapi.Option) (platformapi.API, error) {
	if dir := getenv(ServerVariable); dir != "" {
		return platformapi.NewFromConnection(dir, opts...)
	}
	if dir := getenv(Variable); dir != "" {
		return platformapi.NewDir(dir), nil
	}
	c, err := platformapi.NewInCluster(getenv, opts...)
	if err != nil {
		return nil, err
	}
	return c, nil
}
