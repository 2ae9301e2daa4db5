// Holodeck's own command plugin (COMMAND_PLUGIN, engine/command): Check's defaults, Diff's
// replace rules, local commands with a real shell, remote commands and CopyToRemote against an
// SSH server in the test (sshserver_test.go).

package plugintest

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"golang.org/x/crypto/ssh"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

const (
	localCommand  = "command:local:Command"
	remoteCommand = "command:remote:Command"
	copyToRemote  = "command:remote:CopyToRemote"
)

type commandClient struct {
	t   *testing.T
	ctx context.Context
	rpc pulumirpc.ResourceProviderClient
}

func commandPlugin(t *testing.T) *commandClient {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return &commandClient{t: t, ctx: ctx, rpc: configured(t, ctx, "COMMAND_PLUGIN", "command", nil)}
}

func urn(typ, name string) string { return "urn:pulumi:test::holodeck::" + typ + "::" + name }

// The engine's wire form of secrets, unknowns, assets and archives (sdk/go/common/resource/sig).
const (
	sigKey        = "4dabf18193072939515e22adb298388d"
	secretSig     = "1b47061264138c4ac30d75fd1eb44270"
	assetSig      = "c44067f5952c0a294b673a41bacd8c17"
	archiveSig    = "0def7320c3a5731c473e5ecbe6d01bc7"
	unknownString = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
)

type props = map[string]any

func secret(v any) props            { return props{sigKey: secretSig, "value": v} }
func fileAsset(path string) props   { return props{sigKey: assetSig, "path": path} }
func textAsset(text string) props   { return props{sigKey: assetSig, "text": text} }
func fileArchive(path string) props { return props{sigKey: archiveSig, "path": path} }

func isSecret(v any) bool {
	m, ok := v.(props)
	return ok && m[sigKey] == secretSig
}

func revealed(v any) any {
	for isSecret(v) {
		v = v.(props)["value"]
	}
	return v
}

func (c *commandClient) marshal(m props) *structpb.Struct {
	s, err := structpb.NewStruct(m)
	if err != nil {
		c.t.Fatal(err)
	}
	return s
}

// check returns the checked inputs and fails the test on check failures.
func (c *commandClient) check(typ string, news props) props {
	reply, err := c.rpc.Check(c.ctx, &pulumirpc.CheckRequest{Urn: urn(typ, "r"), News: c.marshal(news)})
	if err != nil {
		c.t.Fatalf("Check: %v", err)
	}
	if len(reply.Failures) > 0 {
		c.t.Fatalf("Check failures: %v", reply.Failures)
	}
	return reply.Inputs.AsMap()
}

func (c *commandClient) create(typ, name string, inputs props, preview bool) (string, props, error) {
	reply, err := c.rpc.Create(c.ctx, &pulumirpc.CreateRequest{Urn: urn(typ, name), Properties: c.marshal(c.check(typ, inputs)), Preview: preview})
	if err != nil {
		return "", nil, err
	}
	return reply.Id, reply.Properties.AsMap(), nil
}

func (c *commandClient) update(typ, name, id string, olds, news props) (props, error) {
	reply, err := c.rpc.Update(c.ctx, &pulumirpc.UpdateRequest{Urn: urn(typ, name), Id: id, Olds: c.marshal(olds), News: c.marshal(c.check(typ, news))})
	if err != nil {
		return nil, err
	}
	return reply.Properties.AsMap(), nil
}

func (c *commandClient) delete(typ, name, id string, state props) error {
	_, err := c.rpc.Delete(c.ctx, &pulumirpc.DeleteRequest{Urn: urn(typ, name), Id: id, Properties: c.marshal(state)})
	return err
}

func (c *commandClient) diff(typ string, olds, news props) *pulumirpc.DiffResponse {
	checked := c.check(typ, news)
	reply, err := c.rpc.Diff(c.ctx, &pulumirpc.DiffRequest{Urn: urn(typ, "r"), Id: "x", Olds: c.marshal(olds), OldInputs: c.marshal(olds), News: c.marshal(checked)})
	if err != nil {
		c.t.Fatalf("Diff: %v", err)
	}
	return reply
}

func text(m props, key string) string {
	s, _ := revealed(m[key]).(string)
	return s
}

// connectionTo is a remote connection to s with the pinned host key, as a secret (as the SDK sends it).
func connectionTo(s *sshServer, values props) props {
	connection := props{"host": "127.0.0.1", "port": s.port, "user": sshUser, "hostKey": authorizedKey(s.hostKey.PublicKey())}
	for k, v := range values {
		connection[k] = v
	}
	return secret(connection)
}

func TestCommandPluginInfoAndSchema(t *testing.T) {
	c := commandPlugin(t)
	info, err := c.rpc.GetPluginInfo(c.ctx, &emptypb.Empty{})
	if err != nil {
		t.Fatalf("GetPluginInfo: %v", err)
	}
	reported, err := exec.Command(os.Getenv("COMMAND_PLUGIN"), "-version").Output()
	if err != nil || info.Version != strings.TrimSpace(string(reported)) || info.Version == "" {
		t.Errorf("GetPluginInfo reports %q, -version %q (%v)", info.Version, reported, err)
	}
	reply, err := c.rpc.GetSchema(c.ctx, &pulumirpc.GetSchemaRequest{})
	if err != nil {
		t.Fatalf("GetSchema: %v", err)
	}
	var schema struct {
		Name      string
		Resources map[string]struct{ InputProperties map[string]json.RawMessage }
	}
	if err := json.Unmarshal([]byte(reply.Schema), &schema); err != nil {
		t.Fatalf("GetSchema returned no JSON: %v", err)
	}
	for _, typ := range []string{localCommand, remoteCommand, copyToRemote} {
		if _, ok := schema.Resources[typ].InputProperties["triggers"]; schema.Name != "command" || !ok {
			t.Errorf("schema %q has no %s with triggers", schema.Name, typ)
		}
	}
}

func TestCommandCheckDefaultsAndRefusals(t *testing.T) {
	c := commandPlugin(t)
	checked := c.check(remoteCommand, props{
		"connection": secret(props{"host": "10.0.0.5"}),
		"create":     "true",
	})
	connection := checked["connection"]
	if !isSecret(connection) {
		t.Fatalf("the checked connection is not a secret: %v", connection)
	}
	got := revealed(connection)
	want := props{"host": "10.0.0.5", "port": 22.0, "user": "root", "dialErrorLimit": 10.0, "perDialTimeout": 15.0}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("checked connection %v, want upstream's defaults %v", got, want)
	}
	// What a program sets stays.
	kept := c.check(copyToRemote, props{
		"connection": props{"host": "h", "port": 2222, "user": "debian", "dialErrorLimit": -1},
		"source":     textAsset("x"),
		"remotePath": "/tmp/x",
	})["connection"]
	if want := (props{"host": "h", "port": 2222.0, "user": "debian", "dialErrorLimit": -1.0, "perDialTimeout": 15.0}); !isSecret(kept) || !reflect.DeepEqual(revealed(kept), want) {
		t.Errorf("the program's connection settings were not kept: %v", kept)
	}

	refusals := []struct {
		typ    string
		inputs props
		reason string
	}{
		{remoteCommand, props{"create": "true"}, "connection is required"},
		{remoteCommand, props{"connection": props{"port": 22}}, "connection.host is required"},
		{remoteCommand, props{"connection": props{"host": "h", "hostKey": "not a key"}}, "connection.hostKey must be a public key"},
		{localCommand, props{"create": "true", "assetPaths": []any{"*.txt"}}, "assetPaths is not implemented"},
		{localCommand, props{"create": "true", "logging": "loud"}, `logging is "loud"`},
		{copyToRemote, props{"connection": props{"host": "h"}, "remotePath": "/x"}, "source is required"},
	}
	for _, refusal := range refusals {
		reply, err := c.rpc.Check(c.ctx, &pulumirpc.CheckRequest{Urn: urn(refusal.typ, "r"), News: c.marshal(refusal.inputs)})
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
		var reasons []string
		for _, failure := range reply.Failures {
			reasons = append(reasons, failure.Reason)
		}
		if !strings.Contains(strings.Join(reasons, "\n"), refusal.reason) {
			t.Errorf("Check of %s %v: failures %q, want one saying %q", refusal.typ, refusal.inputs, reasons, refusal.reason)
		}
	}
}

func TestCommandDiffReplacesOnlyOnTriggers(t *testing.T) {
	c := commandPlugin(t)
	connection := props{"host": "10.0.0.5"}
	base := props{"connection": connection, "create": "echo a", "triggers": []any{"one"}}
	olds := c.check(remoteCommand, base)
	with := func(key string, value any) props {
		changed := props{}
		for k, v := range base {
			changed[k] = v
		}
		changed[key] = value
		return changed
	}

	if d := c.diff(remoteCommand, olds, base); d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Errorf("no change: %v", d)
	}
	if d := c.diff(remoteCommand, olds, with("triggers", []any{"two"})); d.Changes != pulumirpc.DiffResponse_DIFF_SOME ||
		strings.Join(d.Replaces, ",") != "triggers" || d.DetailedDiff["triggers"].Kind != pulumirpc.PropertyDiff_UPDATE_REPLACE {
		t.Errorf("a changed trigger must replace: %v", d)
	}
	changes := props{
		"create":     "echo b",
		"update":     "echo u",
		"delete":     "echo d",
		"stdin":      "input",
		"connection": props{"host": "10.0.0.6"},
	}
	for key, value := range changes {
		d := c.diff(remoteCommand, olds, with(key, value))
		if d.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(d.Replaces) != 0 || len(d.Diffs) != 1 || d.Diffs[0] != key {
			t.Errorf("a change of %s must update in place, and only name it: %v", key, d)
		}
	}
	// A value that is not known yet (a preview) is a change.
	unknown := c.diff(remoteCommand, olds, props{
		"connection": connection, "create": unknownString, "triggers": olds["triggers"],
	})
	if unknown.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(unknown.Replaces) != 0 {
		t.Errorf("an unknown create must be an update: %v", unknown)
	}
}

func TestCommandLocalCreateUpdateDelete(t *testing.T) {
	c := commandPlugin(t)
	dir := t.TempDir()
	inputs := props{
		"create":      `echo "created in $(pwd) with $GREETING"; cat; echo to-stderr >&2`,
		"update":      `echo "updated after: $PULUMI_COMMAND_STDOUT"`,
		"delete":      `printf '%s' "$PULUMI_COMMAND_STDOUT" > deleted`,
		"dir":         dir,
		"environment": props{"GREETING": "hello"},
		"stdin":       "from stdin",
	}

	_, preview, err := c.create(localCommand, "local", inputs, true)
	if err != nil {
		t.Fatalf("preview Create: %v", err)
	}
	if preview["stdout"] != unknownString || preview["stderr"] != unknownString {
		t.Errorf("a preview must leave stdout and stderr unknown: %v", preview)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a preview ran the command: %v", entries)
	}

	id, created, err := c.create(localCommand, "local", inputs, false)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	wantOut := "created in " + dir + " with hello\nfrom stdin"
	if text(created, "stdout") != wantOut || text(created, "stderr") != "to-stderr" || text(created, "dir") != dir {
		t.Errorf("Create: stdout %q stderr %q, want %q and to-stderr", text(created, "stdout"), text(created, "stderr"), wantOut)
	}

	updated, err := c.update(localCommand, "local", id, created, inputs)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if want := "updated after: " + wantOut; text(updated, "stdout") != want {
		t.Errorf("Update ran no update command with the previous stdout: %q, want %q", text(updated, "stdout"), want)
	}

	if err := c.delete(localCommand, "local", id, updated); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	deleted, err := os.ReadFile(filepath.Join(dir, "deleted"))
	if err != nil || string(deleted) != text(updated, "stdout") {
		t.Errorf("Delete did not run delete in dir with the last stdout: %q, %v", deleted, err)
	}

	// A failed command fails the step, naming the command and showing its output.
	_, _, err = c.create(localCommand, "failing", props{"create": "echo why-it-failed; exit 3"}, false)
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "why-it-failed") {
		t.Errorf("a failing create: %v", err)
	}
	// Neither a secret command nor its output on failure is quoted; its stdout stays a secret.
	secretCommand := props{"create": secret("echo s3cr3t-value")}
	_, out, err := c.create(localCommand, "secret", secretCommand, false)
	if err != nil || !isSecret(out["stdout"]) || text(out, "stdout") != "s3cr3t-value" {
		t.Errorf("the stdout of a secret command must be a secret: %v, %v", out["stdout"], err)
	}
	secretCommand["create"] = secret("false s3cr3t-value")
	if _, _, err = c.create(localCommand, "secret", secretCommand, false); err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("a failing secret command must fail without quoting it: %v", err)
	}

	// The interpreter runs the command.
	_, out, err = c.create(localCommand, "interpreter", props{"create": "print('from python')", "interpreter": []any{"python3", "-c"}}, false)
	if err != nil || text(out, "stdout") != "from python" {
		t.Errorf("interpreter: %q, %v", text(out, "stdout"), err)
	}
}

func TestCommandRemoteCreateUpdateDeleteOverKey(t *testing.T) {
	c := commandPlugin(t)
	clientKey, privateKey := newKey(t)
	first, second := startSSH(t, clientKey.PublicKey(), 0), startSSH(t, clientKey.PublicKey(), 0)
	marker := filepath.Join(t.TempDir(), "marker")

	inputs := func(server *sshServer) props {
		m := props{
			"create":      `printf 'created %s %s' "$WHO" "$(cat)" | tee ` + marker,
			"update":      `echo "updated after [$PULUMI_COMMAND_STDOUT]"`,
			"delete":      `echo "deleted after [$PULUMI_COMMAND_STDOUT]" > ` + marker,
			"environment": props{"WHO": "holodeck"},
			"stdin":       "over stdin",
		}
		m["connection"] = connectionTo(server, props{"privateKey": privateKey})
		return m
	}

	id, created, err := c.create(remoteCommand, "remote", inputs(first), false)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if text(created, "stdout") != "created holodeck over stdin" {
		t.Errorf("Create stdout %q", text(created, "stdout"))
	}
	if !isSecret(created["connection"]) {
		t.Errorf("the connection in the state is not a secret")
	}
	if ran := first.commands(); len(ran) != 1 || len(second.commands()) != 0 {
		t.Errorf("create ran %v on the first server, %v on the second", ran, second.commands())
	}

	// A new connection is an update in place: it runs `update` on the new host.
	updated, err := c.update(remoteCommand, "remote", id, created, inputs(second))
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if want := "updated after [created holodeck over stdin]"; text(updated, "stdout") != want {
		t.Errorf("Update stdout %q, want %q", text(updated, "stdout"), want)
	}
	if len(second.commands()) != 1 {
		t.Errorf("update ran %v on the second server", second.commands())
	}

	// Delete runs with the state it is given: the old state's connection (the first server).
	if err := c.delete(remoteCommand, "remote", id, created); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if ran := first.commands(); len(ran) != 2 || !strings.HasPrefix(ran[1], "echo \"deleted") || len(second.commands()) != 1 {
		t.Errorf("delete must run on the old connection's host: first ran %v, second %v", ran, second.commands())
	}
	if got, _ := os.ReadFile(marker); string(got) != "deleted after [created holodeck over stdin]\n" {
		t.Errorf("delete wrote %q", got)
	}
}

func TestCommandRemotePasswordAuth(t *testing.T) {
	c := commandPlugin(t)
	server := startSSH(t, nil, 0)
	inputs := props{"create": "id -un >/dev/null && echo ok", "connection": connectionTo(server, props{"password": sshPassword})}
	_, out, err := c.create(remoteCommand, "password", inputs, false)
	if err != nil || text(out, "stdout") != "ok" {
		t.Fatalf("password auth: %q, %v", text(out, "stdout"), err)
	}
	inputs["connection"] = connectionTo(server, props{"password": "wrong", "dialErrorLimit": 0})
	_, _, err = c.create(remoteCommand, "password", inputs, false)
	if err == nil || !strings.Contains(err.Error(), "unable to authenticate") || strings.Contains(err.Error(), sshPassword) {
		t.Errorf("a wrong password must fail authentication: %v", err)
	}
}

func TestCommandRemoteHostKeyPinned(t *testing.T) {
	c := commandPlugin(t)
	clientKey, privateKey := newKey(t)
	server := startSSH(t, clientKey.PublicKey(), 0)
	other, _ := newKey(t)
	inputs := props{
		"create":     "echo should-not-run",
		"connection": connectionTo(server, props{"privateKey": privateKey, "hostKey": authorizedKey(other.PublicKey()), "dialErrorLimit": 0}),
	}
	_, _, err := c.create(remoteCommand, "pinned", inputs, false)
	if err == nil {
		t.Fatal("a host with another host key was accepted")
	}
	for _, want := range []string{server.addr, ssh.FingerprintSHA256(server.hostKey.PublicKey()), ssh.FingerprintSHA256(other.PublicKey())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal %q does not name %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "PRIVATE KEY") || len(server.commands()) != 0 {
		t.Errorf("the refusal shows the key, or the command ran: %v, %v", err, server.commands())
	}
}

func TestCommandRemoteDialRetries(t *testing.T) {
	c := commandPlugin(t)
	clientKey, privateKey := newKey(t)
	// The first two connections are closed before the handshake, as by a host still booting.
	booting := startSSH(t, clientKey.PublicKey(), 2)
	inputs := props{"create": "echo up", "connection": connectionTo(booting, props{"privateKey": privateKey})}
	_, out, err := c.create(remoteCommand, "retry", inputs, false)
	if err != nil || text(out, "stdout") != "up" {
		t.Fatalf("the dial was not retried: %q, %v", text(out, "stdout"), err)
	}
	if dropped, accepted := booting.counts(); dropped != 2 || accepted != 1 {
		t.Errorf("dials: %d dropped, %d accepted; want 2 and 1", dropped, accepted)
	}

	// dialErrorLimit 1 allows two failed dials, not a third.
	limited := startSSH(t, clientKey.PublicKey(), 3)
	inputs["connection"] = connectionTo(limited, props{"privateKey": privateKey, "dialErrorLimit": 1})
	if _, _, err = c.create(remoteCommand, "retry", inputs, false); err == nil || !strings.Contains(err.Error(), "after 2 failed dials") {
		t.Errorf("dialErrorLimit 1: %v", err)
	}
	if dropped, accepted := limited.counts(); dropped != 2 || accepted != 0 {
		t.Errorf("dialErrorLimit 1: %d dials dropped, %d accepted; want 2 and 0", dropped, accepted)
	}
}

func TestCommandCopyToRemoteFileTextAndArchive(t *testing.T) {
	c := commandPlugin(t)
	clientKey, privateKey := newKey(t)
	server := startSSH(t, clientKey.PublicKey(), 0)
	local, remote := t.TempDir(), t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(local, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	script := write("script.sh", "#!/bin/sh\necho v1\n")
	write("tree/a.txt", "a")
	write("tree/sub/b.txt", "b")
	connection := connectionTo(server, props{"privateKey": privateKey})
	copyOf := func(source props, remotePath string) props {
		return props{"connection": connection, "source": source, "remotePath": remotePath}
	}
	asset := fileAsset
	read := func(path string) string {
		content, err := os.ReadFile(filepath.Join(remote, path))
		if err != nil {
			t.Errorf("not copied: %v", err)
		}
		return string(content)
	}

	id, state, err := c.create(copyToRemote, "file", copyOf(asset(script), filepath.Join(remote, "holodeck-script")), false)
	if err != nil {
		t.Fatalf("Create of a file: %v", err)
	}
	if read("holodeck-script") != "#!/bin/sh\necho v1\n" || !isSecret(state["connection"]) {
		t.Errorf("file copy: %q; connection secret: %v", read("holodeck-script"), isSecret(state["connection"]))
	}
	// A changed file is copied again on update (its hash changed in Check).
	write("script.sh", "#!/bin/sh\necho v2\n")
	if _, err := c.update(copyToRemote, "file", id, state, copyOf(asset(script), filepath.Join(remote, "holodeck-script"))); err != nil {
		t.Fatalf("Update of a file: %v", err)
	}
	if read("holodeck-script") != "#!/bin/sh\necho v2\n" {
		t.Errorf("the update did not copy the new content: %q", read("holodeck-script"))
	}

	// A file into an existing directory keeps its name; a text asset becomes the remote file.
	if _, _, err := c.create(copyToRemote, "into-dir", copyOf(asset(script), remote), false); err != nil || read("script.sh") == "" {
		t.Errorf("file into a directory: %v", err)
	}
	if _, _, err := c.create(copyToRemote, "text", copyOf(textAsset("text body"), filepath.Join(remote, "text.txt")), false); err != nil || read("text.txt") != "text body" {
		t.Errorf("text asset: %v", err)
	}

	// An archive that is a directory is copied whole, under its own name.
	if _, _, err := c.create(copyToRemote, "archive", copyOf(fileArchive(filepath.Join(local, "tree")), filepath.Join(remote, "dest")), false); err != nil {
		t.Fatalf("Create of an archive: %v", err)
	}
	if read("dest/tree/a.txt") != "a" || read("dest/tree/sub/b.txt") != "b" {
		t.Errorf("archive copy incomplete")
	}
	// A preview copies nothing.
	if _, _, err := c.create(copyToRemote, "preview", copyOf(asset(script), filepath.Join(remote, "previewed")), true); err != nil {
		t.Fatalf("preview Create: %v", err)
	}
	if _, err := os.Stat(filepath.Join(remote, "previewed")); !os.IsNotExist(err) {
		t.Errorf("a preview copied the file")
	}
}
