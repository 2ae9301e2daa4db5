package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// The SDK's cmd/run and cmd/run-policy-pack exit with this code once they have reported the
// error to the engine themselves (a RunError's message, say); the engine then must not add its own.
const exitAfterReportedError = 32

// host serves the LanguageRuntime service. Calls it does not implement (code generation, packing,
// linking, `pulumi new` templating, Cancel) answer Unimplemented through the embedded type; the
// engine treats Unimplemented as "not supported" for Template, RuntimeOptionsPrompts and Cancel.
type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	node    string
	tracing string

	mu            sync.Mutex
	engineAddress string
}

func (h *host) engine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engineAddress
}

// Handshake is only called when the engine attaches to an already running host (PULUMI_DEBUG_LANGUAGES);
// a host it starts itself gets the address as its argument.
func (h *host) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	h.engineAddress = req.GetEngineAddress()
	h.mu.Unlock()
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

// GetPluginInfo reports the version the build stamped (-X .../sdk/v3/go/common/version.Version=vX),
// else the sdk/v3 version this host was compiled against, which is the CLI's own version here.
func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	v := version.Version
	if v == "" {
		if info, ok := debug.ReadBuildInfo(); ok {
			for _, dep := range info.Deps {
				if dep.Path == "github.com/pulumi/pulumi/sdk/v3" {
					v = dep.Version
				}
			}
		}
	}
	return &pulumirpc.PluginInfo{Version: v}, nil
}

// About is called on every update (for the update's metadata), not only by `pulumi about`.
func (h *host) About(ctx context.Context, _ *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	out, err := exec.CommandContext(ctx, h.node, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("running %s --version: %w", h.node, err)
	}
	return &pulumirpc.AboutResponse{
		Executable: h.node,
		Version:    strings.TrimPrefix(strings.TrimSpace(string(out)), "v"),
	}, nil
}

// InstallDependencies never runs npm: installing is the project's own step (npm ci), and running
// it here would rewrite a node_modules that other checkouts may share. It checks that the SDK is
// there, so that `pulumi install` and policy-pack loading fail early with the fix named.
func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetDirectory()
	}
	sdk, err := findModule(dir, "@pulumi/pulumi")
	if err != nil {
		return status.Error(codes.FailedPrecondition, err.Error())
	}
	msg := fmt.Sprintf("Dependencies are installed (@pulumi/pulumi at %s); "+
		"this language host does not run npm.\n", sdk)
	return server.Send(&pulumirpc.InstallDependenciesResponse{Stdout: []byte(msg)})
}

// Run runs the program with the SDK's cmd/run, which takes the settings as flags and the config
// as environment variables (see @pulumi/pulumi cmd/run/index.js and runtime/config.js).
func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	opts, err := parseOptions(info)
	if err != nil {
		return nil, err
	}
	runPath, err := findModule(info.GetProgramDirectory(), "@pulumi/pulumi/cmd/run")
	if err != nil {
		return nil, err
	}

	args := append(append([]string{}, opts.nodeArgs...), runPath,
		"--monitor", req.GetMonitorAddress(),
		"--parallel", strconv.Itoa(int(req.GetParallel())))
	for _, f := range [][2]string{
		{"engine", h.engine()},
		{"organization", req.GetOrganization()},
		{"project", req.GetProject()},
		{"stack", req.GetStack()},
		{"pwd", req.GetPwd()},
		{"root-directory", info.GetRootDirectory()},
		{"tracing", h.tracing},
	} {
		if f[1] != "" {
			args = append(args, "--"+f[0], f[1])
		}
	}
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	// The SDK resolves "." through package.json's main, as `node .` would.
	entry := info.GetEntryPoint()
	if entry == "" {
		entry = "."
	}
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	config, err := json.Marshal(req.GetConfig())
	if err != nil {
		return nil, fmt.Errorf("encoding config: %w", err)
	}
	secretKeys, err := json.Marshal(append([]string{}, req.GetConfigSecretKeys()...))
	if err != nil {
		return nil, fmt.Errorf("encoding secret config keys: %w", err)
	}
	env := append(os.Environ(),
		"PULUMI_CONFIG="+string(config),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys),
		"PULUMI_NODEJS_TYPESCRIPT="+strconv.FormatBool(opts.typescript))

	cmd := exec.CommandContext(ctx, h.node, args...)
	cmd.Dir = req.GetPwd()
	cmd.Env = env
	// The engine turns what we print into diagnostics of the stack.
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	err = cmd.Run()

	var exit *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exit) && exit.ExitCode() == exitAfterReportedError:
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exit) && exit.ExitCode() > 0:
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exit.ExitCode()),
		}, nil
	case errors.As(err, &exit):
		return &pulumirpc.RunResponse{Error: "Program exited unexpectedly: " + exit.String()}, nil
	default:
		return nil, fmt.Errorf("could not start %s: %w", h.node, err)
	}
}

// RunPlugin starts a policy pack (a directory with PulumiPolicy.yaml and runtime nodejs): the
// engine passes its own address as the only argument, and cmd/run-policy-pack expects
// `<engine-address> <program>`. The pack prints its gRPC port on stdout, which we stream back.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest,
	server grpc.ServerStreamingServer[pulumirpc.RunPluginResponse],
) error {
	if req.GetKind() != "analyzer" {
		return status.Errorf(codes.Unimplemented,
			"this language host runs policy packs only, not %q plugins written in Node.js", req.GetKind())
	}
	info := req.GetInfo()
	dir := info.GetProgramDirectory()
	opts, err := parseOptions(info)
	if err != nil {
		return err
	}
	runPath, err := findModule(dir, "@pulumi/pulumi/cmd/run-policy-pack")
	if err != nil {
		return err
	}
	args := append(append(append([]string{}, opts.nodeArgs...), runPath), req.GetArgs()...)
	args = append(args, dir)

	// Cancelling the stream is how the engine stops the plugin.
	cmd := exec.CommandContext(server.Context(), h.node, args...)
	// The pack's own directory, so ts-node finds the pack's tsconfig.json, not the stack's.
	cmd.Dir = dir
	cmd.Env = req.GetEnv()

	var sendMu sync.Mutex
	send := func(r *pulumirpc.RunPluginResponse) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return server.Send(r)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("could not start %s: %w", h.node, err)
	}
	var wg sync.WaitGroup
	forward := func(r io.Reader, wrap func([]byte) *pulumirpc.RunPluginResponse) {
		defer wg.Done()
		buf := make([]byte, 32*1024)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				// A failed send means the engine has gone; the context kills node then.
				_ = send(wrap(append([]byte{}, buf[:n]...)))
			}
			if err != nil {
				return
			}
		}
	}
	wg.Add(2)
	go forward(stdout, func(b []byte) *pulumirpc.RunPluginResponse {
		return &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: b}}
	})
	go forward(stderr, func(b []byte) *pulumirpc.RunPluginResponse {
		return &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: b}}
	})
	// Wait closes the pipes, so the output must be drained first.
	wg.Wait()
	code := 0
	if err := cmd.Wait(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return err
		}
		code = exit.ExitCode()
	}
	return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(code)}})
}

type options struct {
	typescript bool
	nodeArgs   []string
}

// parseOptions reads Pulumi.yaml's runtime.options (or PulumiPolicy.yaml's). typescript defaults
// to true, as in upstream's host; nodeargs are extra flags for node itself.
func parseOptions(info *pulumirpc.ProgramInfo) (options, error) {
	opts := options{typescript: true}
	for k, v := range info.GetOptions().AsMap() {
		switch k {
		case "typescript":
			b, ok := v.(bool)
			if !ok {
				return opts, fmt.Errorf("runtime option typescript must be true or false, not %v", v)
			}
			opts.typescript = b
		case "nodeargs":
			s, ok := v.(string)
			if !ok {
				return opts, fmt.Errorf("runtime option nodeargs must be a string, not %v", v)
			}
			opts.nodeArgs = strings.Fields(s)
		case "packagemanager":
			// Only chooses the installer, and this host installs nothing.
		default:
			return opts, fmt.Errorf("runtime option %q is not supported by this language host "+
				"(it knows typescript, nodeargs and packagemanager)", k)
		}
	}
	return opts, nil
}

// findModule finds a module path the way Node's require does for a bare specifier: in the
// node_modules of dir or of one of its parents. It does not follow NODE_PATH or package exports.
func findModule(dir, module string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "node_modules", filepath.FromSlash(module))
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		if filepath.Dir(d) == d {
			where := "node_modules of " + abs
			if module == "" {
				module, where = "node_modules", abs
			}
			return "", fmt.Errorf("cannot find %s in %s or its parents: "+
				"install the project's dependencies (npm ci) first", module, where)
		}
	}
}
