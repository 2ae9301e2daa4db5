package main

import (
	pftfgen "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

	random "holodeck/engine/random"
)

var version string

func main() {
	pftfgen.Main("random", random.Info(version, nil))
}
