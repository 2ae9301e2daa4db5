// Package tls maps the Terraform TLS provider (the commit that @pulumi/tls 5.x bridges) onto the
// tokens of the @pulumi/tls 5.6.1 Node SDK, for the bridge's plugin-framework half to serve.
package tls

import (
	"strings"

	"github.com/hashicorp/terraform-provider-tls/shim"
	pftfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
)

// Info is the bridge's description of the provider. metadata is the bridge-metadata.json that
// tfgen wrote (nil while tfgen itself runs).
func Info(version string, metadata []byte) tfbridge.ProviderInfo {
	info := tfbridge.ProviderInfo{
		P:            pftfbridge.ShimProvider(shim.NewProvider()),
		Name:         "tls",
		Version:      version,
		Description:  "A Pulumi package to create TLS resources in Pulumi programs.",
		License:      "Apache-2.0",
		GitHubOrg:    "hashicorp",
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
		Resources:    map[string]*tfbridge.ResourceInfo{},
		DataSources:  map[string]*tfbridge.DataSourceInfo{},
		// State written by upstream's plugin carries no schema version; read it as version 0,
		// as upstream does, so that such a stack is not upgraded twice.
		EnableZeroDefaultSchemaVersion: true,
	}
	for tf, name := range resources {
		info.Resources[tf] = &tfbridge.ResourceInfo{Tok: tokens.Type(token(name))}
	}
	for tf, name := range dataSources {
		info.DataSources[tf] = &tfbridge.DataSourceInfo{Tok: token(name)}
	}
	return info
}

// token turns "Name" into the SDK's token "tls:index/name:Name": every TLS class lives in index.
func token(name string) tokens.ModuleMember {
	return tokens.ModuleMember("tls:index/" + strings.ToLower(name[:1]) + name[1:] + ":" + name)
}

// resources and dataSources cover every Terraform TLS resource and data source (tfgen refuses an
// unmapped one); the names are those of the @pulumi/tls classes and functions.
var resources = map[string]string{
	"tls_cert_request":        "CertRequest",
	"tls_locally_signed_cert": "LocallySignedCert",
	"tls_private_key":         "PrivateKey",
	"tls_self_signed_cert":    "SelfSignedCert",
}

var dataSources = map[string]string{
	"tls_certificate": "getCertificate",
	"tls_public_key":  "getPublicKey",
}
