// Package shim hands the Terraform TLS provider to the bridge. Its import path lies under the
// provider's module so that it may import the provider's internal package, which holds the
// only constructor.
package shim

import (
	"github.com/hashicorp/terraform-plugin-framework/provider"
	tls "github.com/hashicorp/terraform-provider-tls/internal/provider"
)

// NewProvider returns the Terraform TLS provider (a plugin-framework provider).
func NewProvider() provider.Provider {
	return tls.New()
}
