// Package importguard holds one test, TestPipelineImports: every pipeline
// binary (each command under pipelines/, found on disk) is listed with `go
// list -deps`, and none may link a banned package: the heavy libraries only
// tests use, this module's test-only and bench-only packages, and what a
// binary must do without to stay lean. The table is in the test.
package importguard
