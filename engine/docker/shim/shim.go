// Package shim exposes kreuzwerker's Terraform docker provider, whose code is in the provider
// module's internal/provider: only a package under the provider's own import path may import it,
// hence this module's path (replaced to ./shim by engine/docker/go.mod).
package shim

import (
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	"github.com/terraform-providers/terraform-provider-docker/internal/provider"
)

// NewProvider returns the provider's SDKv2 half, which holds every resource and data source that
// @pulumi/docker has a class or function for (its plugin-framework half holds only docker_compose,
// two newer data sources and actions).
func NewProvider(version string) *schema.Provider {
	return provider.New(version)()
}
