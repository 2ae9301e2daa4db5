package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"

	docker "holodeck/engine/docker"
)

var version string

func main() {
	tfgen.Main("docker", version, docker.Info(version, nil))
}
