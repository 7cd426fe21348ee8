// Package contract checks promisekit against Kratix's own code rather than
// against our reading of it: every Promise file through Kratix's types and
// the rules of its Promise admission webhook, the example stage's status
// through Kratix's status merge, its destination selectors through Kratix's
// parser, and its output through Kratix's work creation.
//
// It is a Go module of its own (github.com/syntasso/kratix's Kubernetes
// libraries do not build with the ones the root module needs) and treats
// the root module as a black box: it reads its files and runs binaries it
// builds with `go build` at the repository root. The Kratix version is the
// one pinned in go.mod; see ../../../shared/notes/pinned-versions.md.
package contract
