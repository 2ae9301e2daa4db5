package main

import (
	"context"
	_ "embed"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/pkg/v3/resource/provider"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

//go:embed schema.json
var schema string

const (
	localCommand  = "command:local:Command"
	remoteCommand = "command:remote:Command"
	copyToRemote  = "command:remote:CopyToRemote"
)

// Inputs of each resource: outputs carry them back, and Diff compares only these.
var inputKeys = map[string][]resource.PropertyKey{
	localCommand: {"addPreviousOutputInEnv", "archivePaths", "assetPaths", "create", "delete", "dir", "environment",
		"interpreter", "logging", "stdin", "triggers", "update"},
	remoteCommand: {"addPreviousOutputInEnv", "connection", "create", "delete", "environment", "logging", "stdin",
		"triggers", "update"},
	copyToRemote: {"connection", "remotePath", "source", "triggers"},
}

// Changes to these replace the resource (upstream's replaceOnChanges); any other change is an update.
var replaceKeys = map[resource.PropertyKey]bool{"triggers": true}

type commandProvider struct {
	pulumirpc.UnimplementedResourceProviderServer
	host *provider.HostClient

	mu            sync.Mutex
	acceptSecrets bool
	// Cancelled when the engine asks the provider to stop: running commands and dials end.
	ctx    context.Context
	cancel context.CancelFunc
}

func newCommandProvider(host *provider.HostClient) *commandProvider {
	ctx, cancel := context.WithCancel(context.Background())
	return &commandProvider{host: host, ctx: ctx, cancel: cancel}
}

func (p *commandProvider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (p *commandProvider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: schema}, nil
}

func (p *commandProvider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.News}, nil
}

func (p *commandProvider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *commandProvider) Configure(_ context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	p.mu.Lock()
	p.acceptSecrets = req.AcceptSecrets
	p.mu.Unlock()
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true}, nil
}

func (p *commandProvider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	p.cancel()
	return &emptypb.Empty{}, nil
}

func (p *commandProvider) unmarshal(s *structpb.Struct) (resource.PropertyMap, error) {
	return plugin.UnmarshalProperties(s, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipNulls: true})
}

func (p *commandProvider) marshal(m resource.PropertyMap) (*structpb.Struct, error) {
	p.mu.Lock()
	keepSecrets := p.acceptSecrets
	p.mu.Unlock()
	return plugin.MarshalProperties(m, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: keepSecrets, SkipNulls: true})
}

func tokenOf(urn string) (string, error) {
	token := resource.URN(urn).Type().String()
	if _, ok := inputKeys[token]; !ok {
		return "", fmt.Errorf("unknown resource type %q: this plugin serves %s, %s and %s", token, localCommand, remoteCommand, copyToRemote)
	}
	return token, nil
}

func (p *commandProvider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	token, err := tokenOf(req.Urn)
	if err != nil {
		return nil, err
	}
	news, err := p.unmarshal(req.News)
	if err != nil {
		return nil, err
	}
	var failures []*pulumirpc.CheckFailure
	fail := func(property, reason string) {
		failures = append(failures, &pulumirpc.CheckFailure{Property: property, Reason: reason})
	}
	switch token {
	case localCommand:
		for _, key := range []resource.PropertyKey{"assetPaths", "archivePaths"} {
			if v, ok := news[key]; ok && !v.IsNull() {
				fail(string(key), string(key)+" is not implemented by Holodeck's command plugin (engine/command/README.md): "+
					"collect the files in the command itself, or pass them as a FileAsset/FileArchive to the resource that needs them")
			}
		}
		checkLogging(news, fail)
	case remoteCommand:
		checkConnection(news, fail)
		checkLogging(news, fail)
	case copyToRemote:
		checkConnection(news, fail)
		checkSource(news, fail)
		if v, ok := news["remotePath"]; !ok || v.IsNull() {
			fail("remotePath", "remotePath is required: the path on the remote host to copy the source to")
		}
	}
	inputs, err := p.marshal(news)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs, Failures: failures}, nil
}

func checkLogging(news resource.PropertyMap, fail func(string, string)) {
	v, ok := news["logging"]
	if !ok || !v.IsString() {
		return
	}
	switch v.StringValue() {
	case "stdout", "stderr", "stdoutAndStderr", "none":
	default:
		fail("logging", fmt.Sprintf("logging is %q: use one of stdout, stderr, stdoutAndStderr, none", v.StringValue()))
	}
}

// checkSource accepts what upstream copies: a file or text asset, or an archive that is a path (a
// directory or an archive file, copied as it is).
func checkSource(news resource.PropertyMap, fail func(string, string)) {
	v, ok := news["source"]
	if !ok || v.IsNull() {
		fail("source", "source is required: a FileAsset, StringAsset or FileArchive to copy")
		return
	}
	v = unsecret(v)
	switch {
	case v.IsComputed() || v.IsOutput():
	case v.IsAsset():
		a := v.AssetValue()
		if !a.IsPath() && !a.IsText() {
			fail("source", "source must be a FileAsset or a StringAsset: remote (URI) assets are not copied")
		} else if err := a.EnsureHash(); err != nil {
			fail("source", fmt.Sprintf("cannot read the source asset: %v", err))
		}
	case v.IsArchive():
		a := v.ArchiveValue()
		if !a.IsPath() {
			fail("source", "source must be a FileArchive (a path to a directory or an archive file): asset and remote archives are not copied")
		} else if err := a.EnsureHash(); err != nil {
			fail("source", fmt.Sprintf("cannot read the source archive: %v", err))
		}
	default:
		fail("source", "source must be an asset or an archive")
	}
}

func (p *commandProvider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	token, err := tokenOf(req.Urn)
	if err != nil {
		return nil, err
	}
	olds, err := p.unmarshal(req.OldInputs)
	if err != nil {
		return nil, err
	}
	if len(olds) == 0 {
		// State written without its inputs: the outputs carry every input.
		if olds, err = p.unmarshal(req.Olds); err != nil {
			return nil, err
		}
	}
	news, err := p.unmarshal(req.News)
	if err != nil {
		return nil, err
	}
	detailed := map[string]*pulumirpc.PropertyDiff{}
	var diffs, replaces []string
	for _, key := range inputKeys[token] {
		oldValue, hadOld := olds[key]
		newValue, hasNew := news[key]
		hadOld, hasNew = hadOld && !oldValue.IsNull(), hasNew && !newValue.IsNull()
		if !hadOld && !hasNew {
			continue
		}
		if hadOld && hasNew && !newValue.ContainsUnknowns() && unsecret(oldValue).DeepEquals(unsecret(newValue)) {
			continue
		}
		kind := pulumirpc.PropertyDiff_UPDATE
		switch {
		case !hadOld:
			kind = pulumirpc.PropertyDiff_ADD
		case !hasNew:
			kind = pulumirpc.PropertyDiff_DELETE
		}
		if replaceKeys[key] {
			kind += pulumirpc.PropertyDiff_ADD_REPLACE - pulumirpc.PropertyDiff_ADD
			replaces = append(replaces, string(key))
		}
		detailed[string(key)] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
		diffs = append(diffs, string(key))
	}
	sort.Strings(diffs)
	changes := pulumirpc.DiffResponse_DIFF_NONE
	if len(diffs) > 0 {
		changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return &pulumirpc.DiffResponse{
		Changes: changes, Diffs: diffs, Replaces: replaces, DetailedDiff: detailed, HasDetailedDiff: true,
	}, nil
}

// outputsOf are the inputs carried to the state: the connection is a secret there, as upstream.
func outputsOf(token string, inputs resource.PropertyMap) resource.PropertyMap {
	outputs := resource.PropertyMap{}
	for _, key := range inputKeys[token] {
		if v, ok := inputs[key]; ok && !v.IsNull() {
			outputs[key] = v
		}
	}
	if c, ok := outputs["connection"]; ok && !c.IsSecret() {
		outputs["connection"] = resource.MakeSecret(c)
	}
	return outputs
}

func (p *commandProvider) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	token, err := tokenOf(req.Urn)
	if err != nil {
		return nil, err
	}
	inputs, err := p.unmarshal(req.Properties)
	if err != nil {
		return nil, err
	}
	outputs := outputsOf(token, inputs)
	urn := resource.URN(req.Urn)
	id, err := resource.NewUniqueHex(urn.Name()+"-", 8, 0)
	if err != nil {
		return nil, err
	}
	if token == copyToRemote {
		if !req.Preview {
			if err := p.copy(urn, outputs); err != nil {
				return nil, err
			}
		}
	} else {
		// In a preview the command does not run: what it prints is not known yet.
		if req.Preview {
			outputs["stdout"] = resource.MakeComputed(resource.NewProperty(""))
			outputs["stderr"] = resource.MakeComputed(resource.NewProperty(""))
		} else if err := p.runStep(urn, token, "create", outputs, nil); err != nil {
			return nil, err
		}
	}
	props, err := p.marshal(outputs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

func (p *commandProvider) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	token, err := tokenOf(req.Urn)
	if err != nil {
		return nil, err
	}
	olds, err := p.unmarshal(req.Olds)
	if err != nil {
		return nil, err
	}
	news, err := p.unmarshal(req.News)
	if err != nil {
		return nil, err
	}
	outputs := outputsOf(token, news)
	urn := resource.URN(req.Urn)
	if token == copyToRemote {
		// As upstream: copied again only when the source or the remote path changed.
		changed := !unsecret(olds["source"]).DeepEquals(unsecret(news["source"])) ||
			!unsecret(olds["remotePath"]).DeepEquals(unsecret(news["remotePath"]))
		if changed && !req.Preview {
			if err := p.copy(urn, outputs); err != nil {
				return nil, err
			}
		}
	} else {
		// update runs, or create again when update is not set; with neither, the outputs stay.
		step := "update"
		if !isSet(news, "update") {
			step = "create"
		}
		for _, key := range []resource.PropertyKey{"stdout", "stderr"} {
			if v, ok := olds[key]; ok {
				outputs[key] = v
			}
		}
		if isSet(news, resource.PropertyKey(step)) {
			if req.Preview {
				outputs["stdout"] = resource.MakeComputed(resource.NewProperty(""))
				outputs["stderr"] = resource.MakeComputed(resource.NewProperty(""))
			} else if err := p.runStep(urn, token, step, outputs, olds); err != nil {
				return nil, err
			}
		}
	}
	props, err := p.marshal(outputs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

// Delete runs `delete` with what the state holds: the old connection, environment and outputs.
func (p *commandProvider) Delete(_ context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	token, err := tokenOf(req.Urn)
	if err != nil {
		return nil, err
	}
	if token == copyToRemote {
		// As upstream: the copied files stay on the host.
		return &emptypb.Empty{}, nil
	}
	state, err := p.unmarshal(req.Properties)
	if err != nil {
		return nil, err
	}
	if isSet(state, "delete") {
		if err := p.runStep(resource.URN(req.Urn), token, "delete", state.Copy(), state); err != nil {
			return nil, err
		}
	}
	return &emptypb.Empty{}, nil
}

// Read keeps the state as it is: a command has nothing to read back.
func (p *commandProvider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return &pulumirpc.ReadResponse{Id: req.Id, Properties: req.Properties, Inputs: req.Inputs}, nil
}

// runStep runs the command `step` of a Command and stores its stdout and stderr in outputs (not
// for delete). previous holds the outputs of the last run, offered to the command's environment.
func (p *commandProvider) runStep(urn resource.URN, token, step string, outputs, previous resource.PropertyMap) error {
	command := outputs[resource.PropertyKey(step)]
	run := &run{
		urn:     urn,
		command: unsecret(command).StringValue(),
		secret:  command.IsSecret(),
		stdin:   stringOf(outputs["stdin"]),
		env:     map[string]string{},
		logging: "stdoutAndStderr",
		log:     p.logger(urn),
		warn:    p.warner(urn),
	}
	if v, ok := outputs["logging"]; ok && unsecret(v).IsString() {
		run.logging = unsecret(v).StringValue()
	}
	if env, ok := outputs["environment"]; ok && unsecret(env).IsObject() {
		for k, v := range unsecret(env).ObjectValue() {
			run.env[string(k)] = stringOf(v)
		}
	}
	if previous != nil && (!isSet(outputs, "addPreviousOutputInEnv") || unsecret(outputs["addPreviousOutputInEnv"]).BoolValue()) {
		if out := stringOf(previous["stdout"]); out != "" {
			run.env["PULUMI_COMMAND_STDOUT"] = out
		}
		if errOut := stringOf(previous["stderr"]); errOut != "" {
			run.env["PULUMI_COMMAND_STDERR"] = errOut
		}
	}
	var err error
	if token == localCommand {
		err = p.runLocal(run, outputs)
	} else {
		var conn *connection
		if conn, err = connectionOf(outputs["connection"]); err == nil {
			err = p.runRemote(run, conn)
		}
	}
	if err != nil {
		return err
	}
	if step != "delete" {
		// What a secret command prints stays secret, as upstream's outputs depend on create/update.
		for key, text := range map[resource.PropertyKey]string{"stdout": run.stdout, "stderr": run.stderr} {
			v := resource.NewProperty(strings.TrimSuffix(text, "\n"))
			if run.secret {
				v = resource.MakeSecret(v)
			}
			outputs[key] = v
		}
	}
	return nil
}

// logger shows a line of a command's output in the engine's progress display, as upstream does.
func (p *commandProvider) logger(urn resource.URN) func(string) {
	return func(line string) {
		if p.host != nil {
			_ = p.host.LogStatus(p.ctx, diag.Info, urn, line)
		}
	}
}

// warner reports a warning on the resource, kept in the update's diagnostics.
func (p *commandProvider) warner(urn resource.URN) func(string) {
	return func(message string) {
		if p.host != nil {
			_ = p.host.Log(p.ctx, diag.Warning, urn, message)
		}
	}
}

func isSet(m resource.PropertyMap, key resource.PropertyKey) bool {
	v, ok := m[key]
	return ok && !v.IsNull()
}

func unsecret(v resource.PropertyValue) resource.PropertyValue {
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v
}

func stringOf(v resource.PropertyValue) string {
	v = unsecret(v)
	if v.IsString() {
		return v.StringValue()
	}
	return ""
}
