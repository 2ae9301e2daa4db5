// The random plugin (RANDOM_PLUGIN). The random provider needs no configuration or network: Create really generates the values.

package plugintest

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

const (
	randomBytes    = "random:index/randomBytes:RandomBytes"
	randomPassword = "random:index/randomPassword:RandomPassword"
)

func TestRandomPluginInfoAndSchema(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := configured(t, ctx, "RANDOM_PLUGIN", "random", nil)

	var schema struct {
		Name      string
		Resources map[string]struct {
			InputProperties map[string]json.RawMessage
			Properties      map[string]json.RawMessage
		}
	}
	versionAndSchema(t, ctx, client, "4.21.2", &schema)
	if schema.Name != "random" {
		t.Errorf("schema name %q", schema.Name)
	}
	// What the program reads and writes (index.ts, components/artifactStore.ts).
	for typ, names := range map[string][]string{
		randomBytes:    {"length", "keepers", "base64", "hex"},
		randomPassword: {"length", "special", "keepers", "result", "bcryptHash"},
	} {
		for _, name := range names {
			if _, ok := schema.Resources[typ].Properties[name]; !ok {
				t.Errorf("%s has no property %q", typ, name)
			}
		}
	}
}

// create runs Check and then Create (not a preview), as the engine does for a new resource.
func createRandom(t *testing.T, ctx context.Context, client pulumirpc.ResourceProviderClient, typ string, news map[string]any) map[string]any {
	urn := "urn:pulumi:test::holodeck::" + typ + "::x"
	inputs, err := structpb.NewStruct(news)
	if err != nil {
		t.Fatal(err)
	}
	checked, err := client.Check(ctx, &pulumirpc.CheckRequest{Urn: urn, News: inputs, RandomSeed: []byte("seed")})
	if err != nil {
		t.Fatalf("Check %s: %v", typ, err)
	}
	if len(checked.Failures) > 0 {
		t.Fatalf("Check %s failed: %v", typ, checked.Failures)
	}
	created, err := client.Create(ctx, &pulumirpc.CreateRequest{Urn: urn, Properties: checked.Inputs, Preview: false})
	if err != nil {
		t.Fatalf("Create %s: %v", typ, err)
	}
	if created.Id == "" {
		t.Errorf("Create %s returned no id", typ)
	}
	return created.Properties.AsMap()
}

// unsecret returns the plain string of an output, which the bridge may wrap as a secret
// (the Terraform schema marks these values sensitive).
func unsecret(t *testing.T, outputs map[string]any, name string) string {
	value := outputs[name]
	if wrapped, ok := value.(map[string]any); ok && wrapped["4dabf18193072939515e22adb298388d"] == "1b47061264138c4ac30d75fd1eb44270" {
		value = wrapped["value"]
	}
	s, ok := value.(string)
	if !ok {
		t.Fatalf("output %s is %T (%v), not a string", name, outputs[name], outputs[name])
	}
	return s
}

func TestRandomCreatePassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := configured(t, ctx, "RANDOM_PLUGIN", "random", nil)

	outputs := createRandom(t, ctx, client, randomPassword, map[string]any{"length": 24})
	if got := len(unsecret(t, outputs, "result")); got != 24 {
		t.Errorf("RandomPassword {length: 24} gave a result of %d characters", got)
	}
	if hash := unsecret(t, outputs, "bcryptHash"); !strings.HasPrefix(hash, "$2") {
		t.Errorf("bcryptHash %q is not a bcrypt hash", hash)
	}

	// As components/artifactStore.ts asks: 40 characters, letters and digits only.
	outputs = createRandom(t, ctx, client, randomPassword, map[string]any{"length": 40, "special": false})
	result := unsecret(t, outputs, "result")
	if len(result) != 40 || strings.Trim(result, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
		t.Errorf("RandomPassword {length: 40, special: false} gave %q", result)
	}
}

func TestRandomCreateBytes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := configured(t, ctx, "RANDOM_PLUGIN", "random", nil)

	outputs := createRandom(t, ctx, client, randomBytes, map[string]any{"length": 32})
	raw, err := base64.StdEncoding.DecodeString(unsecret(t, outputs, "base64"))
	if err != nil || len(raw) != 32 {
		t.Errorf("RandomBytes {length: 32}: base64 decodes to %d bytes (%v)", len(raw), err)
	}
	fromHex, err := hex.DecodeString(unsecret(t, outputs, "hex"))
	if err != nil || string(fromHex) != string(raw) {
		t.Errorf("RandomBytes hex %q does not encode the same bytes as base64 (%v)", unsecret(t, outputs, "hex"), err)
	}
}

// The generated values must survive an unchanged update (index.ts derives release ids from
// RandomBytes), and a new length must replace the resource.
func TestRandomDiff(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := configured(t, ctx, "RANDOM_PLUGIN", "random", nil)

	for _, c := range []struct {
		typ        string
		olds, news map[string]any
		replace    bool
	}{
		{randomBytes, map[string]any{"length": 32}, map[string]any{"length": 32}, false},
		{randomBytes, map[string]any{"length": 32}, map[string]any{"length": 16}, true},
		{randomPassword, map[string]any{"length": 40, "special": false}, map[string]any{"length": 40, "special": false}, false},
		{randomPassword, map[string]any{"length": 40, "special": false}, map[string]any{"length": 40, "special": true}, true},
	} {
		urn := "urn:pulumi:test::holodeck::" + c.typ + "::x"
		state := createRandom(t, ctx, client, c.typ, c.olds)
		news, err := structpb.NewStruct(c.news)
		if err != nil {
			t.Fatal(err)
		}
		oldInputs, err := structpb.NewStruct(c.olds)
		if err != nil {
			t.Fatal(err)
		}
		olds, err := structpb.NewStruct(state)
		if err != nil {
			t.Fatal(err)
		}
		checked, err := client.Check(ctx, &pulumirpc.CheckRequest{Urn: urn, Olds: oldInputs, News: news, RandomSeed: []byte("seed")})
		if err != nil || len(checked.Failures) > 0 {
			t.Fatalf("Check %s %v: %v %v", c.typ, c.news, err, checked.GetFailures())
		}
		reply, err := client.Diff(ctx, &pulumirpc.DiffRequest{Id: "id-1", Urn: urn, Olds: olds, News: checked.Inputs, OldInputs: oldInputs})
		if err != nil {
			t.Fatalf("Diff %s: %v", c.typ, err)
		}
		changed := reply.Changes == pulumirpc.DiffResponse_DIFF_SOME
		if changed != c.replace || (len(reply.Replaces) > 0) != c.replace {
			t.Errorf("%s %v -> %v: changes %v, replaces %v; want replacement %v", c.typ, c.olds, c.news, reply.Changes, reply.Replaces, c.replace)
		}
	}
}
