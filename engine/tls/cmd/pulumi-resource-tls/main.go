package main

import (
	"context"
	_ "embed"

	pftfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"

	tls "holodeck/engine/tls"
)

var version string

//go:embed schema.json
var schema []byte

//go:embed bridge-metadata.json
var metadata []byte

func main() {
	pftfbridge.Main(context.Background(), "tls", tls.Info(version, metadata), pftfbridge.ProviderMetadata{PackageSchema: schema})
}
