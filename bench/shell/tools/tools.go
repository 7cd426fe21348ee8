//go:build tools

// Package tools pins the CLIs that bench/shell/*.sh drive. The blank
// imports exist so that `go mod tidy` keeps their modules; the Makefile
// builds each binary with `go build -C bench/shell/tools -o ... <pkg>`.
package tools

import (
	_ "carvel.dev/ytt/cmd/ytt"
	_ "github.com/bitnami-labs/sealed-secrets/cmd/kubeseal"
	_ "github.com/mikefarah/yq/v4"
)
