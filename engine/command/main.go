// Command pulumi-resource-command is Holodeck's own resource plugin for the `command` package
// (@pulumi/command 1.2.1): local and remote commands and CopyToRemote, served over the Pulumi
// resource provider protocol. Upstream's provider module cannot be fetched here (README.md).
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi/pkg/v3/resource/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// version is set with -ldflags "-X main.version=..." to the version the Node SDK asks for.
var version = "0.0.0-dev"

func main() {
	// engine.sh and the tests ask the built binary for its version, as they do the bridged plugins.
	if len(os.Args) == 2 && os.Args[1] == "-version" {
		fmt.Println(version)
		return
	}
	err := provider.Main("command", func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return newCommandProvider(host), nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
