// Package openstack maps the Terraform OpenStack provider (v3.4.0) onto the tokens and property
// names of the @pulumi/openstack 3.15.2 Node SDK, for the bridge to serve as a Pulumi plugin.
package openstack

import (
	"sort"
	"strings"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	shim "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	tfopenstack "github.com/terraform-provider-openstack/terraform-provider-openstack/v3/openstack"
)

// Info is the bridge's description of the provider. metadata is the bridge-metadata.json that
// tfgen wrote (nil while tfgen itself runs).
func Info(version string, metadata []byte) tfbridge.ProviderInfo {
	p := shimv2.NewProvider(tfopenstack.Provider())
	info := tfbridge.ProviderInfo{
		P:                       p,
		Name:                    "openstack",
		Version:                 version,
		Description:             "A Pulumi package for creating and managing OpenStack cloud resources.",
		License:                 "Apache-2.0",
		GitHubOrg:               "terraform-provider-openstack",
		TFProviderModuleVersion: "v3",
		MetadataInfo:            tfbridge.NewProviderMetadata(metadata),
		Resources:               map[string]*tfbridge.ResourceInfo{},
		DataSources:             map[string]*tfbridge.DataSourceInfo{},
	}
	for tf, member := range resources {
		info.Resources[tf] = &tfbridge.ResourceInfo{Tok: tokens.Type(token(member)), Fields: resourceFields[tf]}
	}
	for tf, member := range dataSources {
		info.DataSources[tf] = &tfbridge.DataSourceInfo{Tok: token(member)}
	}
	// What v3.4.0 added since v1.54.1 has no class in the 3.15.2 SDK, so no program can use it:
	// leave it out of the schema rather than invent tokens for it.
	p.ResourcesMap().Range(func(tf string, _ shim.Resource) bool {
		if _, ok := resources[tf]; !ok {
			info.IgnoreMappings = append(info.IgnoreMappings, tf)
		}
		return true
	})
	p.DataSourcesMap().Range(func(tf string, _ shim.Resource) bool {
		if _, ok := dataSources[tf]; !ok {
			info.IgnoreMappings = append(info.IgnoreMappings, tf)
		}
		return true
	})
	sort.Strings(info.IgnoreMappings)
	// The SDK makes `name` optional: the bridge fills it in from the resource's name plus a random
	// suffix, and an explicit name makes replacements delete first.
	info.SetAutonaming(255, "-")
	return info
}

// token turns "module/Name" into the SDK's token "openstack:module/name:Name".
func token(member string) tokens.ModuleMember {
	module, name, _ := strings.Cut(member, "/")
	return tokens.ModuleMember("openstack:" + module + "/" + strings.ToLower(name[:1]) + name[1:] + ":" + name)
}

// resourceFields renames properties whose bridge-derived name differs from the SDK's (found by
// check-sdk.mjs).
var resourceFields = map[string]map[string]*tfbridge.SchemaInfo{
	// The SDK's StackV1 sends and reads this property as "StackOutputs".
	"openstack_orchestration_stack_v1": {"outputs": {Name: "StackOutputs"}},
}

// resources maps each Terraform resource of v3.4.0 that @pulumi/openstack 3.15.2 has a class for
// to "module/Name" of that class (its token is openstack:module/name:Name). The names follow no
// rule (Volume is v3 but QuoteSetV3 keeps its suffix, and typos are part of the tokens), hence a table.
var resources = map[string]string{
	"openstack_blockstorage_qos_association_v3":          "blockstorage/QosAssociationV3",
	"openstack_blockstorage_qos_v3":                      "blockstorage/QosV3",
	"openstack_blockstorage_quotaset_v3":                 "blockstorage/QuoteSetV3",
	"openstack_blockstorage_volume_attach_v3":            "blockstorage/VolumeAttach",
	"openstack_blockstorage_volume_type_access_v3":       "blockstorage/VolumeTypeAccessV3",
	"openstack_blockstorage_volume_type_v3":              "blockstorage/VolumeTypeV3",
	"openstack_blockstorage_volume_v3":                   "blockstorage/Volume",
	"openstack_compute_aggregate_v2":                     "compute/AggregateV2",
	"openstack_compute_flavor_access_v2":                 "compute/FlavorAccess",
	"openstack_compute_flavor_v2":                        "compute/Flavor",
	"openstack_compute_instance_v2":                      "compute/Instance",
	"openstack_compute_interface_attach_v2":              "compute/InterfaceAttach",
	"openstack_compute_keypair_v2":                       "compute/Keypair",
	"openstack_compute_quotaset_v2":                      "compute/QuotaSetV2",
	"openstack_compute_servergroup_v2":                   "compute/ServerGroup",
	"openstack_compute_volume_attach_v2":                 "compute/VolumeAttach",
	"openstack_containerinfra_cluster_v1":                "containerinfra/Cluster",
	"openstack_containerinfra_clustertemplate_v1":        "containerinfra/ClusterTemplate",
	"openstack_containerinfra_nodegroup_v1":              "containerinfra/NodeGroup",
	"openstack_db_configuration_v1":                      "database/Configuration",
	"openstack_db_database_v1":                           "database/Database",
	"openstack_db_instance_v1":                           "database/Instance",
	"openstack_db_user_v1":                               "database/User",
	"openstack_dns_recordset_v2":                         "dns/RecordSet",
	"openstack_dns_transfer_accept_v2":                   "dns/TransferAccept",
	"openstack_dns_transfer_request_v2":                  "dns/TransferRequest",
	"openstack_dns_zone_v2":                              "dns/Zone",
	"openstack_fw_group_v2":                              "firewall/GroupV2",
	"openstack_fw_policy_v2":                             "firewall/PolicyV2",
	"openstack_fw_rule_v2":                               "firewall/RuleV2",
	"openstack_identity_application_credential_v3":       "identity/ApplicationCredential",
	"openstack_identity_ec2_credential_v3":               "identity/Ec2CredentialV3",
	"openstack_identity_endpoint_v3":                     "identity/EndpointV3",
	"openstack_identity_group_v3":                        "identity/GroupV3",
	"openstack_identity_inherit_role_assignment_v3":      "identity/InheritRoleAssignment",
	"openstack_identity_project_v3":                      "identity/Project",
	"openstack_identity_role_assignment_v3":              "identity/RoleAssignment",
	"openstack_identity_role_v3":                         "identity/Role",
	"openstack_identity_service_v3":                      "identity/ServiceV3",
	"openstack_identity_user_membership_v3":              "identity/UserMembershipV3",
	"openstack_identity_user_v3":                         "identity/User",
	"openstack_images_image_access_accept_v2":            "images/ImageAccessAccept",
	"openstack_images_image_access_v2":                   "images/ImageAccess",
	"openstack_images_image_v2":                          "images/Image",
	"openstack_keymanager_container_v1":                  "keymanager/ContainerV1",
	"openstack_keymanager_order_v1":                      "keymanager/OrderV1",
	"openstack_keymanager_secret_v1":                     "keymanager/SecretV1",
	"openstack_lb_l7policy_v2":                           "loadbalancer/L7PolicyV2",
	"openstack_lb_l7rule_v2":                             "loadbalancer/L7RuleV2",
	"openstack_lb_listener_v2":                           "loadbalancer/Listener",
	"openstack_lb_loadbalancer_v2":                       "loadbalancer/LoadBalancer",
	"openstack_lb_member_v2":                             "loadbalancer/Member",
	"openstack_lb_members_v2":                            "loadbalancer/Members",
	"openstack_lb_monitor_v2":                            "loadbalancer/Monitor",
	"openstack_lb_pool_v2":                               "loadbalancer/Pool",
	"openstack_lb_quota_v2":                              "loadbalancer/Quota",
	"openstack_networking_addressscope_v2":               "networking/AddressScope",
	"openstack_networking_floatingip_associate_v2":       "networking/FloatingIpAssociate",
	"openstack_networking_floatingip_v2":                 "networking/FloatingIp",
	"openstack_networking_network_v2":                    "networking/Network",
	"openstack_networking_port_secgroup_associate_v2":    "networking/PortSecGroupAssociate",
	"openstack_networking_port_v2":                       "networking/Port",
	"openstack_networking_portforwarding_v2":             "networking/PortForwardingV2",
	"openstack_networking_qos_bandwidth_limit_rule_v2":   "networking/QosBandwidthLimitRule",
	"openstack_networking_qos_dscp_marking_rule_v2":      "networking/QosDscpMarkingRule",
	"openstack_networking_qos_minimum_bandwidth_rule_v2": "networking/QosMinimumBandwidthRule",
	"openstack_networking_qos_policy_v2":                 "networking/QosPolicy",
	"openstack_networking_quota_v2":                      "networking/QuotaV2",
	"openstack_networking_rbac_policy_v2":                "networking/RbacPolicyV2",
	"openstack_networking_router_interface_v2":           "networking/RouterInterface",
	"openstack_networking_router_route_v2":               "networking/RouterRoute",
	"openstack_networking_router_v2":                     "networking/Router",
	"openstack_networking_secgroup_rule_v2":              "networking/SecGroupRule",
	"openstack_networking_secgroup_v2":                   "networking/SecGroup",
	"openstack_networking_subnet_route_v2":               "networking/SubnetRoute",
	"openstack_networking_subnet_v2":                     "networking/Subnet",
	"openstack_networking_subnetpool_v2":                 "networking/SubnetPool",
	"openstack_networking_trunk_v2":                      "networking/Trunk",
	"openstack_objectstorage_container_v1":               "objectstorage/Container",
	"openstack_objectstorage_object_v1":                  "objectstorage/ContainerObject",
	"openstack_objectstorage_tempurl_v1":                 "objectstorage/TempUrl",
	"openstack_orchestration_stack_v1":                   "orchestration/StackV1",
	"openstack_sharedfilesystem_securityservice_v2":      "sharedfilesystem/SecurityService",
	"openstack_sharedfilesystem_share_access_v2":         "sharedfilesystem/ShareAccess",
	"openstack_sharedfilesystem_share_v2":                "sharedfilesystem/Share",
	"openstack_sharedfilesystem_sharenetwork_v2":         "sharedfilesystem/ShareNetwork",
	"openstack_vpnaas_endpoint_group_v2":                 "vpnaas/EndpointGroup",
	"openstack_vpnaas_ike_policy_v2":                     "vpnaas/IkePolicy",
	"openstack_vpnaas_ipsec_policy_v2":                   "vpnaas/IpSecPolicy",
	"openstack_vpnaas_service_v2":                        "vpnaas/Service",
	"openstack_vpnaas_site_connection_v2":                "vpnaas/SiteConnection",
}

// dataSources does the same for the SDK's functions.
var dataSources = map[string]string{
	"openstack_blockstorage_availability_zones_v3":       "blockstorage/getAvailabilityZonesV3",
	"openstack_blockstorage_quotaset_v3":                 "blockstorage/getQuotasetV3",
	"openstack_blockstorage_snapshot_v3":                 "blockstorage/getSnapshotV3",
	"openstack_blockstorage_volume_v3":                   "blockstorage/getVolumeV3",
	"openstack_compute_aggregate_v2":                     "compute/getAggregateV2",
	"openstack_compute_availability_zones_v2":            "compute/getAvailabilityZones",
	"openstack_compute_flavor_v2":                        "compute/getFlavor",
	"openstack_compute_hypervisor_v2":                    "compute/getHypervisorV2",
	"openstack_compute_instance_v2":                      "compute/getInstanceV2",
	"openstack_compute_keypair_v2":                       "compute/getKeypair",
	"openstack_compute_limits_v2":                        "compute/getLimitsV2",
	"openstack_compute_quotaset_v2":                      "compute/getQuotaSetV2",
	"openstack_containerinfra_cluster_v1":                "containerinfra/getCluster",
	"openstack_containerinfra_clustertemplate_v1":        "containerinfra/getClusterTemplate",
	"openstack_containerinfra_nodegroup_v1":              "containerinfra/getNodeGroup",
	"openstack_dns_zone_v2":                              "dns/getDnsZone",
	"openstack_fw_group_v2":                              "index/getFwGroupV2",
	"openstack_fw_policy_v2":                             "index/getFwPolicyV2",
	"openstack_fw_rule_v2":                               "index/getFwRuleV2",
	"openstack_identity_auth_scope_v3":                   "identity/getAuthScope",
	"openstack_identity_endpoint_v3":                     "identity/getEndpoint",
	"openstack_identity_group_v3":                        "identity/getGroup",
	"openstack_identity_project_v3":                      "identity/getProject",
	"openstack_identity_role_v3":                         "identity/getRole",
	"openstack_identity_service_v3":                      "identity/getService",
	"openstack_identity_user_v3":                         "identity/getUser",
	"openstack_images_image_ids_v2":                      "images/getImageIds",
	"openstack_images_image_v2":                          "images/getImage",
	"openstack_keymanager_container_v1":                  "keymanager/getContainer",
	"openstack_keymanager_secret_v1":                     "keymanager/getSecret",
	"openstack_networking_addressscope_v2":               "networking/getAddressScope",
	"openstack_networking_floatingip_v2":                 "networking/getFloatingIp",
	"openstack_networking_network_v2":                    "networking/getNetwork",
	"openstack_networking_port_ids_v2":                   "networking/getPortIds",
	"openstack_networking_port_v2":                       "networking/getPort",
	"openstack_networking_qos_bandwidth_limit_rule_v2":   "networking/getQosBandwidthLimitRule",
	"openstack_networking_qos_dscp_marking_rule_v2":      "networking/getQosDscpMarkingRule",
	"openstack_networking_qos_minimum_bandwidth_rule_v2": "networking/getQosMinimumBandwidthRule",
	"openstack_networking_qos_policy_v2":                 "networking/getQosPolicy",
	"openstack_networking_quota_v2":                      "networking/getQuotaV2",
	"openstack_networking_router_v2":                     "networking/getRouter",
	"openstack_networking_secgroup_v2":                   "networking/getSecGroup",
	"openstack_networking_subnet_ids_v2":                 "networking/getSubnetIdsV2",
	"openstack_networking_subnet_v2":                     "networking/getSubnet",
	"openstack_networking_subnetpool_v2":                 "networking/getSubnetPool",
	"openstack_networking_trunk_v2":                      "networking/getTrunk",
	"openstack_sharedfilesystem_availability_zones_v2":   "sharedfilesystem/getAvailbilityZones",
	"openstack_sharedfilesystem_share_v2":                "sharedfilesystem/getShare",
	"openstack_sharedfilesystem_sharenetwork_v2":         "sharedfilesystem/getShareNetwork",
	"openstack_sharedfilesystem_snapshot_v2":             "sharedfilesystem/getSnapshot",
}
