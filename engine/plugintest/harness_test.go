// Package plugintest drives Holodeck's built resource plugins over gRPC, as the engine does. Each
// file tests one plugin, named by an environment variable (tests/engineGo.test.ts sets them to the
// plugins scripts/engine.sh installed):
//
//	OPENSTACK_PLUGIN=... RANDOM_PLUGIN=... TLS_PLUGIN=... go test ./...
package plugintest

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// start runs the plugin that the environment variable env names, which prints its port on
// stdout, and returns a client for it.
func start(t *testing.T, env string) pulumirpc.ResourceProviderClient {
	path := os.Getenv(env)
	if path == "" {
		t.Fatalf("set %s to a built plugin (engine/build-plugin.sh NAME VERSION OUT_DIR builds OUT_DIR/pulumi-resource-NAME)", env)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, path)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	port, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("%s printed no port: %v", path, err)
	}
	conn, err := grpc.NewClient("127.0.0.1:"+strings.TrimSpace(port), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return pulumirpc.NewResourceProviderClient(conn)
}

// configured starts the plugin and configures its provider `pkg` with `config`, checked first as
// the engine does.
func configured(t *testing.T, ctx context.Context, env, pkg string, config map[string]any) pulumirpc.ResourceProviderClient {
	client := start(t, env)
	checked, err := client.CheckConfig(ctx, &pulumirpc.CheckRequest{Urn: "urn:pulumi:test::holodeck::pulumi:providers:" + pkg + "::default", News: object(t, config)})
	if err != nil {
		t.Fatalf("CheckConfig: %v", err)
	}
	if len(checked.Failures) > 0 {
		t.Fatalf("CheckConfig failures: %v", checked.Failures)
	}
	if _, err := client.Configure(ctx, &pulumirpc.ConfigureRequest{Args: checked.Inputs, AcceptSecrets: true, AcceptResources: true}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return client
}

func object(t *testing.T, values map[string]any) *structpb.Struct {
	s, err := structpb.NewStruct(values)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// versionAndSchema checks that the plugin reports `version` (what the Node SDK asks for) and
// decodes its schema into `schema`.
func versionAndSchema(t *testing.T, ctx context.Context, client pulumirpc.ResourceProviderClient, version string, schema any) {
	t.Helper()
	info, err := client.GetPluginInfo(ctx, &emptypb.Empty{})
	if err != nil {
		t.Fatalf("GetPluginInfo: %v", err)
	}
	if info.Version != version {
		t.Errorf("plugin reports version %q, the Node SDK asks for %s", info.Version, version)
	}
	reply, err := client.GetSchema(ctx, &pulumirpc.GetSchemaRequest{})
	if err != nil {
		t.Fatalf("GetSchema: %v", err)
	}
	if err := json.Unmarshal([]byte(reply.Schema), schema); err != nil {
		t.Fatalf("GetSchema returned no JSON: %v", err)
	}
}
