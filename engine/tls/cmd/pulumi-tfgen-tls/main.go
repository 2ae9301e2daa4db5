package main

import (
	pftfgen "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

	tls "holodeck/engine/tls"
)

var version string

func main() {
	pftfgen.Main("tls", tls.Info(version, nil))
}
