// Package localapi is the local runner's side of the platform API contract
// with a stage binary: the variable that names the directory of objects the
// runner keeps in place of an API server.
//
// A binary's main reads it and, when it is set, gives its stages a
// platformapi.Dir on that directory instead of the cluster's API server. It
// is a package of its own so that the binaries need not link the runner.
package localapi

// Variable names the directory of objects (laid out as platformapi.LocalPath
// says) that the local runner sets for every container it runs.
const Variable = "PROMISEKIT_LOCAL_API"
