// Package contract checks promisekit against Kratix's own code rather than
// against our reading of it: every Promise file through Kratix's types and
// the rules of its Promise admission webhook, the example stage's status
// through Kratix's status merge, its destination selectors through Kratix's
// parser, and its output through Kratix's work creation.
//
// The Pods Kratix's factory makes for every pipeline are checked against
// Pod Security "restricted" (podsecurity_test.go), and against running in
// the platform's namespace with everything they mount there, listed in
// README.md's install section (tenancy_test.go), also for the files `make
// promises` writes. Promise fields newer than the pinned module
// (workflows.config.pipelineNamespace among them) are checked against the
// upstream source at a named commit (newer_test.go); everything else is
// decoded strictly with the pinned types.
//
// It is a Go module of its own (github.com/syntasso/kratix's Kubernetes
// libraries do not build with the ones the root module needs) and treats
// the root module as a black box: it reads its files and runs binaries it
// builds with `go build` at the repository root. The Kratix version is the
// one pinned in go.mod; see ../../../shared/notes/pinned-versions.md.
package contract
