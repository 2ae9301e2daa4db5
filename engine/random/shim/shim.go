// Package shim exposes the random provider's framework implementation, which lives in the
// provider module's internal/provider: only a package under the provider's own import path may
// import it, hence this module's path (replaced to ./shim by engine/random/go.mod).
package shim

import (
	"github.com/hashicorp/terraform-plugin-framework/provider"
	random "github.com/terraform-providers/terraform-provider-random/internal/provider"
)

// NewProvider returns the Terraform random provider.
func NewProvider() provider.Provider {
	return random.New()
}
