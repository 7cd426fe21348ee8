// Package image holds the tests of the pipelines' container images as
// `make images` builds them (internal/ociimage, cmd/pkimage): their
// structure (user, entrypoint, one layer, no shell, both platforms, the same
// digest when rebuilt), the Dockerfile's recipe against the Go one, and
// every example request of every promise run through its image with runc,
// as Kratix runs a pipeline container: the security context, volumes and
// mounts its Promise file declares, /kratix/input, output and metadata as
// Kratix lays them out, and only Kratix's environment. Output and status
// must equal what the local runner produces from the same binaries run
// directly.
//
// It has no non-test code; the tests build the images themselves with
// `make images` into a temporary directory.
package image
