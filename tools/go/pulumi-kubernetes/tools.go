//go:build tools

// Package tools records what this wrapper module builds (cmd/pulumi-resource-kubernetes imports
// exactly these, and generate.go needs pkg/v3's codegen/schema), so `go mod tidy` keeps them.
package tools

import (
	_ "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	_ "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
	_ "github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)
