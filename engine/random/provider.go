// Package random maps the Terraform random provider (the 2024 commit that @pulumi/random pinned,
// see go.mod) onto the tokens and property names of the @pulumi/random 4.21.2 Node SDK, for the
// bridge's framework (pf) support to serve as a Pulumi plugin.
package random

import (
	"context"
	"strings"

	pftfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	shim "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	randomshim "github.com/terraform-providers/terraform-provider-random/shim"
)

// Info is the bridge's description of the provider. metadata is the bridge-metadata.json that
// tfgen wrote (nil while tfgen itself runs).
func Info(version string, metadata []byte) tfbridge.ProviderInfo {
	p := pftfbridge.ShimProviderWithContext(context.Background(), randomshim.NewProvider())
	info := tfbridge.ProviderInfo{
		P:            p,
		Name:         "random",
		Version:      version,
		Description:  "A Pulumi package to safely use randomness in Pulumi programs.",
		License:      "Apache-2.0",
		GitHubOrg:    "hashicorp",
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
		Resources:    map[string]*tfbridge.ResourceInfo{},
		DataSources:  map[string]*tfbridge.DataSourceInfo{},
	}
	p.ResourcesMap().Range(func(tf string, _ shim.Resource) bool {
		info.Resources[tf] = &tfbridge.ResourceInfo{Tok: token(tf)}
		return true
	})
	return info
}

// token turns "random_bytes" into the SDK's "random:index/randomBytes:RandomBytes": every class
// of @pulumi/random is its Terraform name in PascalCase, in the index module.
func token(tf string) tokens.Type {
	var name strings.Builder
	for _, word := range strings.Split(tf, "_") {
		name.WriteString(strings.ToUpper(word[:1]) + word[1:])
	}
	member := name.String()
	return tokens.Type("random:index/" + strings.ToLower(member[:1]) + member[1:] + ":" + member)
}
