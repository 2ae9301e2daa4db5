// The docker plugin (DOCKER_PLUGIN), against the real Docker engine of this machine (Debian's
// dockerd, /usr/bin/docker) and the base image scripts/base-image.sh imports. Everything a test
// creates carries the label holodeck.plugintest=<run id>, and t.Cleanup removes what is left of it.

package plugintest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

const (
	container   = "docker:index/container:Container"
	network     = "docker:index/network:Network"
	volume      = "docker:index/volume:Volume"
	remoteImage = "docker:index/remoteImage:RemoteImage"

	dockerCLI  = "/usr/bin/docker"
	baseImage  = "holodeck/debian:bookworm-minbase"
	testLabel  = "holodeck.plugintest"
	dockerHost = "unix:///var/run/docker.sock"
)

func TestDockerPluginInfoAndSchema(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := start(t, "DOCKER_PLUGIN")

	var schema struct {
		Name      string
		Resources map[string]struct {
			InputProperties map[string]json.RawMessage
		}
	}
	versionAndSchema(t, ctx, client, "5.2.0", &schema)
	if schema.Name != "docker" {
		t.Errorf("schema name %q", schema.Name)
	}
	for _, tok := range []string{container, network, volume, remoteImage} {
		if _, ok := schema.Resources[tok]; !ok {
			t.Errorf("no %s in the schema", tok)
		}
	}
	// Upstream's native Image resource is not a Terraform resource: this plugin has none.
	if _, ok := schema.Resources["docker:index/image:Image"]; ok {
		t.Error("the schema has docker:index/image:Image, which this plugin cannot serve")
	}
	// The SDK's names, not the bridge's plurals, for the inputs servers use.
	inputs := schema.Resources[container].InputProperties
	for _, name := range []string{"command", "entrypoints", "networksAdvanced", "uploads", "tmpfs", "volumes", "capabilities", "labels", "envs"} {
		if _, ok := inputs[name]; !ok {
			t.Errorf("%s has no input %q (inputs: %v)", container, name, slices.Sorted(maps.Keys(inputs)))
		}
	}
}

func dockerConfigured(t *testing.T, ctx context.Context) pulumirpc.ResourceProviderClient {
	return configured(t, ctx, "DOCKER_PLUGIN", "docker", map[string]any{"host": dockerHost})
}

// dockerServer is a container as the Docker substrate starts a server (with sleep for /sbin/init: the
// base image has no systemd).
var dockerServer = map[string]any{
	"name":         "app-0",
	"image":        baseImage,
	"command":      []any{"sleep", "infinity"},
	"envs":         []any{"HOLODECK=1"},
	"uploads":      []any{map[string]any{"file": "/var/lib/cloud/seed/nocloud/user-data", "content": "#cloud-config\n"}},
	"tmpfs":        map[string]any{"/run": "", "/run/lock": ""},
	"volumes":      []any{map[string]any{"hostPath": "/sys/fs/cgroup", "containerPath": "/sys/fs/cgroup", "readOnly": true}},
	"capabilities": map[string]any{"adds": []any{"NET_ADMIN"}},
	"memory":       256,
}

func TestDockerCheck(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := dockerConfigured(t, ctx)

	if reply := check(t, ctx, client, container, dockerServer); len(reply.Failures) > 0 {
		t.Errorf("Check of a valid container failed: %v", reply.Failures)
	}
	unnamed := with(dockerServer, "name", nil)
	delete(unnamed, "name")
	reply := check(t, ctx, client, container, unnamed)
	if len(reply.Failures) > 0 {
		t.Fatalf("Check of an unnamed container failed: %v", reply.Failures)
	}
	if name := reply.Inputs.Fields["name"].GetStringValue(); !strings.HasPrefix(name, "x-") {
		t.Errorf("container not auto-named: %q", name)
	}
	reply = check(t, ctx, client, container, with(dockerServer, "restart", "sometimes"))
	if len(reply.Failures) == 0 || !strings.Contains(reply.Failures[0].Reason, "restart") {
		t.Errorf("Check accepted restart \"sometimes\": %v", reply.Failures)
	}
	noImage := with(dockerServer, "image", nil)
	delete(noImage, "image")
	reply = check(t, ctx, client, container, noImage)
	if len(reply.Failures) == 0 || !strings.Contains(reply.Failures[0].Reason, "image") {
		t.Errorf("Check accepted a container without an image: %v", reply.Failures)
	}
}

// Which changes replace a container (it is immutable, like an OpenStack dockerServer) and which the
// provider applies in place.
// The old side is the state Create returned for a real container: the provider's computed inputs
// (entrypoints, securityOpts) are ForceNew, so a state without them would diff on every change.
func TestDockerDiff(t *testing.T) {
	dockerReady(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client := dockerConfigured(t, ctx)
	run, labels := labelled(t)
	base := with(dockerServer, "name", "holodeck-plugintest-"+run+"-app")
	base["labels"] = labels
	urn := "urn:pulumi:test::holodeck::" + container + "::app"
	oldInputs := check(t, ctx, client, container, base).Inputs
	id, state := create(t, ctx, client, container, "app", base)
	diffTo := func(news map[string]any) *pulumirpc.DiffResponse {
		reply, err := client.Diff(ctx, &pulumirpc.DiffRequest{Id: id, Urn: urn, Olds: state, News: check(t, ctx, client, container, news).Inputs, OldInputs: oldInputs})
		if err != nil {
			t.Fatalf("Diff: %v", err)
		}
		return reply
	}

	cases := []struct {
		key     string
		value   any
		replace bool
	}{
		{"image", "holodeck/dockerServer:bookworm", true},
		{"command", []any{"/sbin/init"}, true},
		{"entrypoints", []any{"/sbin/init"}, true},
		{"envs", []any{"HOLODECK=2"}, true},
		{"uploads", []any{map[string]any{"file": "/var/lib/cloud/seed/nocloud/user-data", "content": "#cloud-config\nruncmd: []\n"}}, true},
		{"tmpfs", map[string]any{"/run": "", "/run/lock": "", "/tmp": ""}, true},
		{"volumes", []any{map[string]any{"hostPath": "/srv", "containerPath": "/srv", "readOnly": true}}, true},
		{"capabilities", map[string]any{"adds": []any{"NET_ADMIN", "SYS_ADMIN"}}, true},
		{"networksAdvanced", []any{map[string]any{"name": "other"}}, true},
		{"labels", append(slices.Clone(labels), map[string]any{"label": "role", "value": "app"}), true},
		{"hostname", "app-0", true},
		{"memory", 512, false},
		{"restart", "unless-stopped", false},
		{"cpuShares", 512, false},
	}
	for _, c := range cases {
		reply := diffTo(with(base, c.key, c.value))
		if reply.Changes != pulumirpc.DiffResponse_DIFF_SOME || !slices.Contains(reply.Diffs, c.key) {
			t.Errorf("%s: diff %v of %v, want a change of %s", c.key, reply.Changes, reply.Diffs, c.key)
		}
		if got := slices.Contains(reply.Replaces, c.key); got != c.replace {
			t.Errorf("%s: replaces %v, want replacement %v", c.key, reply.Replaces, c.replace)
		}
		// A replaced container goes before its successor starts (its name, ports and mounts are its own).
		if c.replace && !reply.DeleteBeforeReplace {
			t.Errorf("%s: replacement is not delete-first", c.key)
		}
	}
	if reply := diffTo(base); reply.Changes == pulumirpc.DiffResponse_DIFF_SOME {
		t.Errorf("unchanged inputs diff: %v", reply.Diffs)
	}

	net := map[string]any{"name": "holodeck-net", "driver": "bridge"}
	if reply := diff(t, ctx, client, network, net, with(net, "internal", true)); !slices.Contains(reply.Replaces, "internal") {
		t.Errorf("network internal: replaces %v, want a replacement", reply.Replaces)
	}
}

// docker runs Debian's docker CLI and returns its stdout.
func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(dockerCLI, args...).Output()
	if err != nil {
		stderr := ""
		if exit, ok := err.(*exec.ExitError); ok {
			stderr = string(exit.Stderr)
		}
		t.Fatalf("docker %s: %v %s", strings.Join(args, " "), err, stderr)
	}
	return string(out)
}

// dockerReady fails the test unless an engine answers and the base image is there, saying how to get them.
func dockerReady(t *testing.T) {
	if out, err := exec.Command(dockerCLI, "info").CombinedOutput(); err != nil {
		t.Fatalf("no Docker engine answers %s info (%v): start Debian's as root with `dockerd > /tmp/dockerd.log 2>&1 &`\n%s", dockerCLI, err, out)
	}
	if err := exec.Command(dockerCLI, "image", "inspect", baseImage).Run(); err != nil {
		t.Fatalf("no image %s: make it with `bash scripts/base-image.sh`", baseImage)
	}
}

// labelled returns a new run id and the labels that mark a resource as this run's; at the end of
// the test, whatever Docker still holds with them is removed.
func labelled(t *testing.T) (string, []any) {
	random := make([]byte, 4)
	_, _ = rand.Read(random)
	run := hex.EncodeToString(random)
	t.Cleanup(func() {
		filter := "label=" + testLabel + "=" + run
		for _, id := range strings.Fields(docker(t, "ps", "-aq", "--filter", filter)) {
			_ = exec.Command(dockerCLI, "rm", "-f", "-v", id).Run()
		}
		for _, kind := range []string{"network", "volume"} {
			for _, id := range strings.Fields(docker(t, kind, "ls", "-q", "--filter", filter)) {
				_ = exec.Command(dockerCLI, kind, "rm", id).Run()
			}
		}
	})
	return run, []any{map[string]any{"label": testLabel, "value": run}}
}

// leftovers lists the containers, networks and volumes labelled with this run's id.
func leftovers(t *testing.T, run string) []string {
	filter := "label=" + testLabel + "=" + run
	return slices.Concat(
		strings.Fields(docker(t, "ps", "-aq", "--filter", filter)),
		strings.Fields(docker(t, "network", "ls", "-q", "--filter", filter)),
		strings.Fields(docker(t, "volume", "ls", "-q", "--filter", filter)),
	)
}

// create checks inputs and creates the resource, returning its id and outputs.
func create(t *testing.T, ctx context.Context, client pulumirpc.ResourceProviderClient, typ, name string, inputs map[string]any) (string, *structpb.Struct) {
	t.Helper()
	urn := "urn:pulumi:test::holodeck::" + typ + "::" + name
	checked, err := client.Check(ctx, &pulumirpc.CheckRequest{Urn: urn, News: object(t, inputs), RandomSeed: []byte("seed")})
	if err != nil || len(checked.Failures) > 0 {
		t.Fatalf("Check %s: %v %v", name, err, checked.GetFailures())
	}
	reply, err := client.Create(ctx, &pulumirpc.CreateRequest{Urn: urn, Properties: checked.Inputs, Timeout: 120})
	if err != nil {
		t.Fatalf("Create %s: %v", name, err)
	}
	if reply.Id == "" {
		t.Fatalf("Create %s returned no id", name)
	}
	return reply.Id, reply.Properties
}

func remove(t *testing.T, ctx context.Context, client pulumirpc.ResourceProviderClient, typ, name, id string, outputs *structpb.Struct) {
	t.Helper()
	urn := "urn:pulumi:test::holodeck::" + typ + "::" + name
	if _, err := client.Delete(ctx, &pulumirpc.DeleteRequest{Id: id, Urn: urn, Properties: outputs, Timeout: 120}); err != nil {
		t.Fatalf("Delete %s: %v", name, err)
	}
}

// A network, a volume and a dockerServer container on them, as the Docker substrate makes them; what
// Docker then holds is read back with docker inspect.
func TestDockerLifecycle(t *testing.T) {
	dockerReady(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	client := dockerConfigured(t, ctx)
	run, labels := labelled(t)
	prefix := "holodeck-plugintest-" + run

	// The local base image through RemoteImage: found locally, so nothing is pulled, and kept on delete.
	imageID, imageOut := create(t, ctx, client, remoteImage, "base", map[string]any{"name": baseImage, "keepLocally": true})
	localID := strings.TrimSpace(docker(t, "image", "inspect", "--format", "{{.Id}}", baseImage))
	if got := imageOut.Fields["imageId"].GetStringValue(); got != localID {
		t.Errorf("RemoteImage imageId %q, docker has %q", got, localID)
	}

	netID, netOut := create(t, ctx, client, network, "net", map[string]any{"name": prefix + "-net", "labels": labels})
	volID, volOut := create(t, ctx, client, volume, "vol", map[string]any{"name": prefix + "-vol", "labels": labels})

	seed := "#cloud-config\nhostname: app-0\n"
	inputs := with(dockerServer, "name", prefix+"-app")
	inputs["image"] = imageOut.Fields["imageId"].GetStringValue()
	inputs["labels"] = labels
	inputs["uploads"] = []any{map[string]any{"file": "/var/lib/cloud/seed/nocloud/user-data", "content": seed}}
	inputs["networksAdvanced"] = []any{map[string]any{"name": netOut.Fields["name"].GetStringValue()}}
	inputs["volumes"] = append(slices.Clone(dockerServer["volumes"].([]any)),
		map[string]any{"volumeName": volOut.Fields["name"].GetStringValue(), "containerPath": "/var/lib/holodeck"})
	ctrID, ctrOut := create(t, ctx, client, container, "app", inputs)

	var inspected []struct {
		Config struct {
			Cmd    []string
			Labels map[string]string
		}
		State      struct{ Running bool }
		HostConfig struct {
			Tmpfs  map[string]string
			Binds  []string
			CapAdd []string
			Memory int64
		}
		NetworkSettings struct{ Networks map[string]json.RawMessage }
	}
	if err := json.Unmarshal([]byte(docker(t, "inspect", ctrID)), &inspected); err != nil || len(inspected) != 1 {
		t.Fatalf("docker inspect %s: %v", ctrID, err)
	}
	got := inspected[0]
	if !got.State.Running {
		t.Error("the container is not running")
	}
	if !slices.Equal(got.Config.Cmd, []string{"sleep", "infinity"}) {
		t.Errorf("command %v", got.Config.Cmd)
	}
	if got.Config.Labels[testLabel] != run {
		t.Errorf("labels %v", got.Config.Labels)
	}
	if _, ok := got.HostConfig.Tmpfs["/run"]; !ok {
		t.Errorf("no tmpfs on /run: %v", got.HostConfig.Tmpfs)
	}
	if _, ok := got.HostConfig.Tmpfs["/run/lock"]; !ok {
		t.Errorf("no tmpfs on /run/lock: %v", got.HostConfig.Tmpfs)
	}
	for _, bind := range []string{"/sys/fs/cgroup:/sys/fs/cgroup:ro", prefix + "-vol:/var/lib/holodeck:rw"} {
		if !slices.Contains(got.HostConfig.Binds, bind) {
			t.Errorf("no bind %s: %v", bind, got.HostConfig.Binds)
		}
	}
	if !slices.Contains(got.HostConfig.CapAdd, "NET_ADMIN") && !slices.Contains(got.HostConfig.CapAdd, "CAP_NET_ADMIN") {
		t.Errorf("NET_ADMIN not added: %v", got.HostConfig.CapAdd)
	}
	if got.HostConfig.Memory != 256*1024*1024 {
		t.Errorf("memory %d bytes, want 256 MiB", got.HostConfig.Memory)
	}
	if _, ok := got.NetworkSettings.Networks[prefix+"-net"]; !ok {
		t.Errorf("not on network %s: %v", prefix+"-net", slices.Sorted(maps.Keys(got.NetworkSettings.Networks)))
	}
	if content := docker(t, "exec", ctrID, "cat", "/var/lib/cloud/seed/nocloud/user-data"); content != seed {
		t.Errorf("uploaded file holds %q, want %q", content, seed)
	}
	// The container's view of the read-only cgroup bind.
	if out, err := exec.Command(dockerCLI, "exec", ctrID, "touch", "/sys/fs/cgroup/holodeck").CombinedOutput(); err == nil {
		t.Errorf("/sys/fs/cgroup is writable in the container: %s", out)
	}

	read, err := client.Read(ctx, &pulumirpc.ReadRequest{Id: ctrID, Urn: "urn:pulumi:test::holodeck::" + container + "::app", Properties: ctrOut})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if read.Id != ctrID {
		t.Errorf("Read returned id %q, want %q", read.Id, ctrID)
	}
	if name := read.Properties.Fields["name"].GetStringValue(); name != prefix+"-app" {
		t.Errorf("Read name %q", name)
	}
	if tmpfs := read.Properties.Fields["tmpfs"].GetStructValue().AsMap(); len(tmpfs) != 2 {
		t.Errorf("Read tmpfs %v", tmpfs)
	}

	remove(t, ctx, client, container, "app", ctrID, ctrOut)
	remove(t, ctx, client, volume, "vol", volID, volOut)
	remove(t, ctx, client, network, "net", netID, netOut)
	remove(t, ctx, client, remoteImage, "base", imageID, imageOut)
	if left := leftovers(t, run); len(left) > 0 {
		t.Errorf("Delete left %v", left)
	}
	if err := exec.Command(dockerCLI, "image", "inspect", baseImage).Run(); err != nil {
		t.Errorf("deleting a RemoteImage with keepLocally removed %s", baseImage)
	}

	// Read of a container that is gone reports it gone (an empty id), as the engine's refresh expects.
	read, err = client.Read(ctx, &pulumirpc.ReadRequest{Id: ctrID, Urn: "urn:pulumi:test::holodeck::" + container + "::app", Properties: ctrOut})
	if err != nil {
		t.Fatalf("Read of a deleted container: %v", err)
	}
	if read.Id != "" {
		t.Errorf("Read of a deleted container returned id %q", read.Id)
	}
}
