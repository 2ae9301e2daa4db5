// The tls plugin (TLS_PLUGIN). The TLS provider needs nothing outside the process: Create really generates keys.

package plugintest

import (
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"golang.org/x/crypto/ssh"
	"google.golang.org/protobuf/types/known/structpb"
)

const privateKey = "tls:index/privateKey:PrivateKey"

// What privateKey.d.ts of @pulumi/tls 5.6.1 declares.
var (
	sdkInputs  = []string{"algorithm", "ecdsaCurve", "rsaBits"}
	sdkOutputs = []string{
		"algorithm", "ecdsaCurve", "rsaBits", "privateKeyPem", "privateKeyOpenssh", "privateKeyPemPkcs8",
		"publicKeyPem", "publicKeyOpenssh", "publicKeyFingerprintMd5", "publicKeyFingerprintSha256",
	}
)

func TestTLSPluginInfoAndSchema(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := start(t, "TLS_PLUGIN")

	var schema struct {
		Name      string
		Resources map[string]struct {
			InputProperties map[string]json.RawMessage
			Properties      map[string]json.RawMessage
		}
		Functions map[string]json.RawMessage
	}
	versionAndSchema(t, ctx, client, "5.6.1", &schema)
	if schema.Name != "tls" {
		t.Errorf("schema name %q", schema.Name)
	}
	key, ok := schema.Resources[privateKey]
	if !ok {
		t.Fatalf("no %s in the schema", privateKey)
	}
	if got := slices.Sorted(maps.Keys(key.InputProperties)); !slices.Equal(got, slices.Sorted(slices.Values(sdkInputs))) {
		t.Errorf("%s inputs %v, the SDK has %v", privateKey, got, sdkInputs)
	}
	if got := slices.Sorted(maps.Keys(key.Properties)); !slices.Equal(got, slices.Sorted(slices.Values(sdkOutputs))) {
		t.Errorf("%s outputs %v, the SDK has %v", privateKey, got, sdkOutputs)
	}
	for _, fn := range []string{"tls:index/getPublicKey:getPublicKey", "tls:index/getCertificate:getCertificate"} {
		if _, ok := schema.Functions[fn]; !ok {
			t.Errorf("no %s in the schema", fn)
		}
	}
}

func checkKey(t *testing.T, ctx context.Context, client pulumirpc.ResourceProviderClient, news map[string]any) *pulumirpc.CheckResponse {
	reply, err := client.Check(ctx, &pulumirpc.CheckRequest{Urn: "urn:pulumi:test::holodeck::" + privateKey + "::x", News: object(t, news), RandomSeed: []byte("seed")})
	if err != nil {
		t.Fatalf("Check %v: %v", news, err)
	}
	return reply
}

func TestTLSCheck(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := configured(t, ctx, "TLS_PLUGIN", "tls", nil)

	for _, valid := range []map[string]any{{"algorithm": "ED25519"}, {"algorithm": "RSA", "rsaBits": 2048}} {
		if reply := checkKey(t, ctx, client, valid); len(reply.Failures) > 0 {
			t.Errorf("Check of %v failed: %v", valid, reply.Failures)
		}
	}
	reply := checkKey(t, ctx, client, map[string]any{"algorithm": "DSA"})
	if len(reply.Failures) == 0 || !strings.Contains(reply.Failures[0].Reason, "algorithm") {
		t.Errorf("Check accepted algorithm DSA: %v", reply.Failures)
	}
}

// plain reads a string output, unwrapping the secret the bridge makes of a sensitive one.
func plain(t *testing.T, props *structpb.Struct, name string) string {
	v, ok := props.Fields[name]
	if !ok {
		t.Fatalf("Create returned no %s (outputs: %v)", name, slices.Sorted(maps.Keys(props.Fields)))
	}
	if secret := v.GetStructValue(); secret != nil {
		v = secret.Fields["value"]
	}
	if v.GetStringValue() == "" {
		t.Fatalf("%s is empty or not a string: %v", name, v)
	}
	return v.GetStringValue()
}

func createKey(t *testing.T, ctx context.Context, client pulumirpc.ResourceProviderClient, inputs map[string]any) *pulumirpc.CreateResponse {
	checked := checkKey(t, ctx, client, inputs)
	if len(checked.Failures) > 0 {
		t.Fatalf("Check of %v failed: %v", inputs, checked.Failures)
	}
	reply, err := client.Create(ctx, &pulumirpc.CreateRequest{Urn: "urn:pulumi:test::holodeck::" + privateKey + "::x", Properties: checked.Inputs, Timeout: 60})
	if err != nil {
		t.Fatalf("Create %v: %v", inputs, err)
	}
	if reply.Id == "" {
		t.Fatal("Create returned no id")
	}
	return reply
}

func TestTLSCreateED25519(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := configured(t, ctx, "TLS_PLUGIN", "tls", nil)
	props := createKey(t, ctx, client, map[string]any{"algorithm": "ED25519"}).Properties

	raw, err := ssh.ParseRawPrivateKey([]byte(plain(t, props, "privateKeyOpenssh")))
	if err != nil {
		t.Fatalf("privateKeyOpenssh does not parse: %v", err)
	}
	opensshKey, ok := raw.(*ed25519.PrivateKey)
	if !ok {
		t.Fatalf("privateKeyOpenssh holds a %T, not an ED25519 key", raw)
	}
	block, _ := pem.Decode([]byte(plain(t, props, "privateKeyPem")))
	if block == nil {
		t.Fatal("privateKeyPem is not PEM")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("privateKeyPem (%s) does not parse as PKCS#8: %v", block.Type, err)
	}
	pemKey, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		t.Fatalf("privateKeyPem holds a %T, not an ED25519 key", parsed)
	}
	if !pemKey.Equal(*opensshKey) {
		t.Error("privateKeyPem and privateKeyOpenssh hold different keys")
	}

	public, _, _, _, err := ssh.ParseAuthorizedKey([]byte(plain(t, props, "publicKeyOpenssh")))
	if err != nil {
		t.Fatalf("publicKeyOpenssh does not parse: %v", err)
	}
	signer, err := ssh.NewSignerFromKey(*opensshKey)
	if err != nil {
		t.Fatal(err)
	}
	if public.Type() != ssh.KeyAlgoED25519 || string(public.Marshal()) != string(signer.PublicKey().Marshal()) {
		t.Errorf("publicKeyOpenssh (%s) is not the private key's public half", public.Type())
	}
	if got, want := plain(t, props, "publicKeyFingerprintSha256"), ssh.FingerprintSHA256(public); got != want {
		t.Errorf("publicKeyFingerprintSha256 %q, want %q", got, want)
	}
}

// The program's minion and salt master keys.
func TestTLSCreateRSA(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := configured(t, ctx, "TLS_PLUGIN", "tls", nil)
	props := createKey(t, ctx, client, map[string]any{"algorithm": "RSA", "rsaBits": 2048}).Properties

	block, _ := pem.Decode([]byte(plain(t, props, "privateKeyPem")))
	if block == nil {
		t.Fatal("privateKeyPem is not PEM")
	}
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("privateKeyPem (%s) does not parse as PKCS#1: %v", block.Type, err)
	}
	if key.N.BitLen() != 2048 {
		t.Errorf("RSA key of %d bits, asked for 2048", key.N.BitLen())
	}
	public, _, _, _, err := ssh.ParseAuthorizedKey([]byte(plain(t, props, "publicKeyOpenssh")))
	if err != nil {
		t.Fatalf("publicKeyOpenssh does not parse: %v", err)
	}
	withKey, ok := public.(ssh.CryptoPublicKey)
	if !ok || !key.PublicKey.Equal(withKey.CryptoPublicKey().(*rsa.PublicKey)) {
		t.Error("publicKeyOpenssh is not the private key's public half")
	}
}

func TestTLSDiffReplacesOnAlgorithm(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := configured(t, ctx, "TLS_PLUGIN", "tls", nil)
	created := createKey(t, ctx, client, map[string]any{"algorithm": "ED25519"})
	news := checkKey(t, ctx, client, map[string]any{"algorithm": "RSA", "rsaBits": 2048})
	reply, err := client.Diff(ctx, &pulumirpc.DiffRequest{
		Id: created.Id, Urn: "urn:pulumi:test::holodeck::" + privateKey + "::x",
		Olds: created.Properties, News: news.Inputs, OldInputs: object(t, map[string]any{"algorithm": "ED25519"}),
	})
	if err != nil {
		t.Fatalf("Diff: %v", err)
	}
	if reply.Changes != pulumirpc.DiffResponse_DIFF_SOME || !slices.Contains(reply.Replaces, "algorithm") {
		t.Errorf("diff %v, replaces %v: want algorithm to replace the key", reply.Changes, reply.Replaces)
	}
}
