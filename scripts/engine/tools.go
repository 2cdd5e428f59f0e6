//go:build tools

// Package engine pins the Pulumi CLI that scripts/engine.sh builds: go.mod and go.sum fix
// every module version, so the binary is the same on every machine.
package engine

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
