// Command pulumi-language-nodejs is Holodeck's own Node.js language host for the Pulumi engine.
//
// The engine starts it with the engine's gRPC address as its last argument, reads the port it
// prints on stdout, and then calls the LanguageRuntime service. Programs and policy packs run as
// `node` processes on the entry points that @pulumi/pulumi ships (cmd/run, cmd/run-policy-pack),
// resolved from the program's own node_modules so that the SDK version is the project's.
//
// Upstream's host (module github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3) is
// not served by the Go proxy here; this is a smaller host written against the same protocol.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

func main() {
	// The engine passes --logtostderr, -v and --tracing when its own logging or tracing is on
	// (see buildPluginArguments in sdk/v3 plugin.go); they must parse even though we log nothing.
	flag.Bool("logtostderr", false, "accepted for the engine; this host logs nothing of its own")
	flag.Int("v", 0, "accepted for the engine; this host logs nothing of its own")
	tracing := flag.String("tracing", "", "Zipkin endpoint, passed on to the Node.js program")
	flag.Parse()

	node, err := exec.LookPath("node")
	if err != nil {
		fail("could not find node on PATH (install Node.js): %v", err)
	}

	h := &host{node: node, tracing: *tracing}
	if args := flag.Args(); len(args) > 0 {
		h.engineAddress = args[len(args)-1]
	}

	// Plain gRPC rather than sdk/v3's rpcutil.Serve: the engine needs no health or reflection
	// service from a language host, and rpcutil's tracing dependencies double the binary.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("could not listen on a loopback port: %v", err)
	}
	srv := grpc.NewServer()
	pulumirpc.RegisterLanguageRuntimeServer(srv, h)

	// The engine reads exactly this line to learn where to connect.
	fmt.Printf("%d\n", lis.Addr().(*net.TCPAddr).Port)

	// The engine ends us by killing the process, so Serve returns only on a real failure.
	if err := srv.Serve(lis); err != nil {
		fail("language host stopped serving: %v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: "+format+"\n", args...)
	os.Exit(1)
}
