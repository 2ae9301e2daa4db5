package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"

	openstack "holodeck/engine/openstack"
)

var version string

func main() {
	tfgen.Main("openstack", version, openstack.Info(version, nil))
}
