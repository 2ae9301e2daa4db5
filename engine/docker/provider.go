// Package docker maps kreuzwerker's Terraform docker provider (the commit in go.mod) onto the
// tokens and property names of the @pulumi/docker 5.2.0 Node SDK, for the bridge to serve as a
// Pulumi plugin. The SDK's `docker:index/image:Image` is upstream's own Go code, not a Terraform
// resource: this plugin does not serve it (README.md).
package docker

import (
	"strings"

	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	dockershim "github.com/terraform-providers/terraform-provider-docker/shim"
)

// Info is the bridge's description of the provider. metadata is the bridge-metadata.json that
// tfgen wrote (nil while tfgen itself runs).
func Info(version string, metadata []byte) tfbridge.ProviderInfo {
	info := tfbridge.ProviderInfo{
		P:            shimv2.NewProvider(fixContainer(dockershim.NewProvider(version))),
		Name:         "docker",
		Version:      version,
		Description:  "A Pulumi package for interacting with Docker in Pulumi programs",
		License:      "Apache-2.0",
		GitHubOrg:    "kreuzwerker",
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
		Config: map[string]*tfbridge.SchemaInfo{
			// The SDK calls this list by its singular Terraform name.
			"registry_auth": {Name: "registryAuth", MaxItemsOne: tfbridge.False()},
		},
		Resources:   map[string]*tfbridge.ResourceInfo{},
		DataSources: map[string]*tfbridge.DataSourceInfo{},
	}
	for tf, name := range resources {
		info.Resources[tf] = &tfbridge.ResourceInfo{Tok: tokens.Type(token(name)), Fields: resourceFields[tf]}
	}
	// A container's name, ports and mounts belong to one container at a time: replace by deleting
	// the old one first, as upstream's plugin does.
	info.Resources["docker_container"].DeleteBeforeReplace = true
	for tf, name := range dataSources {
		info.DataSources[tf] = &tfbridge.DataSourceInfo{Tok: token(name)}
	}
	// The SDK makes `name` optional: the bridge fills it in from the resource's name plus a random
	// suffix.
	info.SetAutonaming(255, "-")
	return info
}

// fixContainer corrects two flaws of docker_container's Terraform schema that would break
// Pulumi's diffs of a server container (checked by engine/plugintest's TestDockerDiff):
//   - Update ignores tmpfs, init, cpu_period and cpu_quota, yet none is ForceNew: a change would
//     be reported as an update and never reach Docker. They replace the container instead.
//   - memory_swap is read back from Docker (twice the memory when only memory is set) but is not
//     Computed, so such a container would show a diff on every update. It keeps what Docker chose.
func fixContainer(p *schema.Provider) *schema.Provider {
	fields := p.ResourcesMap["docker_container"].Schema
	for _, name := range []string{"tmpfs", "init", "cpu_period", "cpu_quota"} {
		fields[name].ForceNew = true
	}
	fields["memory_swap"].Computed = true
	return p
}

// token turns "Name" into the SDK's "docker:index/name:Name": every class lives in index.
func token(name string) tokens.ModuleMember {
	return tokens.ModuleMember("docker:index/" + strings.ToLower(name[:1]) + name[1:] + ":" + name)
}

// resourceFields keeps the SDK's names where the bridge would pluralize a list.
var resourceFields = map[string]map[string]*tfbridge.SchemaInfo{
	"docker_container": {
		"command":           {Name: "command"},
		"networks_advanced": {Name: "networksAdvanced"},
	},
	"docker_image": {"name": {Name: "name"}},
}

// resources and dataSources map each Terraform resource and data source of the SDKv2 half (tfgen
// refuses an unmapped one) to its @pulumi/docker class or function.
var resources = map[string]string{
	"docker_buildx_builder": "BuildxBuilder",
	"docker_config":         "ServiceConfig",
	"docker_container":      "Container",
	"docker_image":          "RemoteImage",
	"docker_network":        "Network",
	"docker_plugin":         "Plugin",
	"docker_registry_image": "RegistryImage",
	"docker_secret":         "Secret",
	"docker_service":        "Service",
	"docker_tag":            "Tag",
	"docker_volume":         "Volume",
}

var dataSources = map[string]string{
	"docker_image":                    "getRemoteImage",
	"docker_logs":                     "getLogs",
	"docker_network":                  "getNetwork",
	"docker_plugin":                   "getPlugin",
	"docker_registry_image":           "getRegistryImage",
	"docker_registry_image_manifests": "getRegistryImageManifests",
}
