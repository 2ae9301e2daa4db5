// The OpenStack plugin (OPENSTACK_PLUGIN). Nothing here needs a cloud: the provider authenticates lazily, and GetSchema, CheckConfig,
// Configure, Check and Diff are answered from the Terraform schema.

package plugintest

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const (
	instance     = "openstack:compute/instance:Instance"
	secGroupRule = "openstack:networking/secGroupRule:SecGroupRule"

	floatingIPAssociate = "openstack:networking/floatingIpAssociate:FloatingIpAssociate"
)

// A loopback address nothing listens on: any attempt to authenticate would fail loudly.
var openstackConfig = map[string]any{
	"authUrl":           "http://127.0.0.1:9/v3",
	"region":            "RegionOne",
	"userName":          "holodeck",
	"password":          "secret",
	"tenantName":        "holodeck",
	"userDomainName":    "Default",
	"projectDomainName": "Default",
}

func TestOpenStackPluginInfoAndSchema(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := start(t, "OPENSTACK_PLUGIN")

	var schema struct {
		Name      string
		Version   string
		Resources map[string]struct {
			InputProperties map[string]struct{ Type string }
		}
		Functions map[string]json.RawMessage
	}
	versionAndSchema(t, ctx, client, "3.15.2", &schema)
	if schema.Name != "openstack" {
		t.Errorf("schema name %q", schema.Name)
	}
	inputs := schema.Resources[instance].InputProperties
	for _, name := range []string{"networks", "blockDevices", "keyPair", "userData", "imageName", "flavorName", "securityGroups"} {
		if _, ok := inputs[name]; !ok {
			t.Errorf("%s has no input %q", instance, name)
		}
	}
	if inputs["networks"].Type != "array" || inputs["blockDevices"].Type != "array" {
		t.Errorf("networks/blockDevices are not lists: %+v", inputs)
	}
	if _, ok := schema.Resources[secGroupRule]; !ok {
		t.Errorf("no %s in the schema", secGroupRule)
	}
	if _, ok := schema.Functions["openstack:networking/getSubnetIdsV2:getSubnetIdsV2"]; !ok {
		t.Error("no getSubnetIdsV2 in the schema")
	}
}

func TestOpenStackCheckConfigRejectsAWrongType(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := start(t, "OPENSTACK_PLUGIN")
	bad := map[string]any{"authUrl": "http://127.0.0.1:9/v3", "maxRetries": "many"}
	checked, err := client.CheckConfig(ctx, &pulumirpc.CheckRequest{Urn: "urn:pulumi:test::holodeck::pulumi:providers:openstack::default", News: object(t, bad)})
	if err == nil && len(checked.Failures) == 0 {
		t.Fatal("CheckConfig accepted maxRetries \"many\"")
	}
}

func check(t *testing.T, ctx context.Context, client pulumirpc.ResourceProviderClient, typ string, news map[string]any) *pulumirpc.CheckResponse {
	urn := "urn:pulumi:test::holodeck::" + typ + "::x"
	reply, err := client.Check(ctx, &pulumirpc.CheckRequest{Urn: urn, News: object(t, news), RandomSeed: []byte("seed")})
	if err != nil {
		t.Fatalf("Check %s: %v", typ, err)
	}
	return reply
}

var rule = map[string]any{
	"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
	"portRangeMin": 22, "portRangeMax": 22, "remoteIpPrefix": "10.0.0.0/8",
	"securityGroupId": "sg-1", "description": "ssh",
}

var association = map[string]any{"floatingIp": "203.0.113.10", "portId": "port-1"}

var server = map[string]any{
	"imageName": "debian-12", "flavorName": "m1.small", "keyPair": "admin", "userData": "#cloud-config\n",
	"securityGroups": []any{"default"},
	"networks":       []any{map[string]any{"port": "port-1"}},
}

func TestOpenStackCheck(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := configured(t, ctx, "OPENSTACK_PLUGIN", "openstack", openstackConfig)

	if reply := check(t, ctx, client, secGroupRule, rule); len(reply.Failures) > 0 {
		t.Errorf("Check of a valid rule failed: %v", reply.Failures)
	}
	sideways := map[string]any{}
	for k, v := range rule {
		sideways[k] = v
	}
	sideways["direction"] = "sideways"
	reply := check(t, ctx, client, secGroupRule, sideways)
	if len(reply.Failures) == 0 || !strings.Contains(reply.Failures[0].Reason, "direction") {
		t.Errorf("Check accepted direction \"sideways\": %v", reply.Failures)
	}

	reply = check(t, ctx, client, instance, server)
	if len(reply.Failures) > 0 {
		t.Fatalf("Check of a valid instance failed: %v", reply.Failures)
	}
	// The bridge auto-names a resource without a name, from its URN's name and the seed.
	if name := reply.Inputs.Fields["name"].GetStringValue(); !strings.HasPrefix(name, "x-") {
		t.Errorf("instance not auto-named: %q", name)
	}
}

// diff runs Check on both sides (as the engine does) and Diff between them.
func diff(t *testing.T, ctx context.Context, client pulumirpc.ResourceProviderClient, typ string, olds, news map[string]any) *pulumirpc.DiffResponse {
	urn := "urn:pulumi:test::holodeck::" + typ + "::x"
	oldChecked := check(t, ctx, client, typ, olds)
	newChecked := check(t, ctx, client, typ, news)
	state := oldChecked.Inputs.AsMap()
	state["id"] = "id-1"
	reply, err := client.Diff(ctx, &pulumirpc.DiffRequest{Id: "id-1", Urn: urn, Olds: object(t, state), News: newChecked.Inputs, OldInputs: oldChecked.Inputs})
	if err != nil {
		t.Fatalf("Diff %s: %v", typ, err)
	}
	return reply
}

func with(base map[string]any, key string, value any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	out[key] = value
	return out
}

// The behaviours FIELD-NOTES records for v1.54.1, checked against v3.4.0.
func TestOpenStackDiff(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := configured(t, ctx, "OPENSTACK_PLUGIN", "openstack", openstackConfig)

	named := with(server, "name", "app-0")
	cases := []struct {
		typ, key string
		value    any
		replace  bool
	}{
		{secGroupRule, "description", "ssh from the admins", true},
		{instance, "imageName", "debian-13", false},
		{instance, "flavorName", "m1.large", false},
		{instance, "userData", "#cloud-config\nruncmd: []\n", true},
		{instance, "keyPair", "other", true},
		{instance, "networks", []any{map[string]any{"port": "port-2"}}, true},
		{instance, "availabilityZone", "nova-2", true},
		{instance, "configDrive", true, true},
		{instance, "securityGroups", []any{"default", "web"}, false},
		{floatingIPAssociate, "portId", "port-2", false},
	}
	for _, c := range cases {
		base := map[string]map[string]any{instance: named, secGroupRule: rule, floatingIPAssociate: association}[c.typ]
		reply := diff(t, ctx, client, c.typ, base, with(base, c.key, c.value))
		if reply.Changes != pulumirpc.DiffResponse_DIFF_SOME || !slices.Contains(reply.Diffs, c.key) {
			t.Errorf("%s %s: diff %v of %v, want a change of %s", c.typ, c.key, reply.Changes, reply.Diffs, c.key)
		}
		if got := slices.Contains(reply.Replaces, c.key); got != c.replace {
			t.Errorf("%s %s: replaces %v, want replacement %v", c.typ, c.key, reply.Replaces, c.replace)
		}
	}

	// An explicit name makes the bridge replace delete-first; an auto-name does not.
	for _, tc := range []struct {
		base  map[string]any
		first bool
	}{{named, true}, {server, false}} {
		reply := diff(t, ctx, client, instance, tc.base, with(tc.base, "userData", "#cloud-config\nruncmd: []\n"))
		if reply.DeleteBeforeReplace != tc.first {
			t.Errorf("instance named %v: deleteBeforeReplace %v, want %v", tc.base["name"], reply.DeleteBeforeReplace, tc.first)
		}
	}
}
