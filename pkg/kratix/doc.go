// Package kratix implements the Kratix pipeline contract for one workflow
// stage: it reads the environment Kratix sets and the input object, dispatches
// to the stage's configure or delete function, and writes the stage's
// manifests, status.yaml and destination-selectors.yaml the way Kratix reads
// them.
//
// The package is deliberately free of client-go and Kratix's own module: a
// stage binary is small and starts fast, and the contract is checked against
// Kratix's code in the separate test/kratix module instead.
//
// Writes are all-or-nothing from Kratix's point of view. A stage computes its
// whole Result in memory; only then is anything written. Output files are
// staged beside their final place and moved in, files that an earlier attempt
// in the same Pod wrote are removed, and output written by other containers
// of the same pipeline is left alone.
package kratix
