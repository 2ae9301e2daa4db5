package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A node_modules tree as npm lays it out: scoped and plain packages, a nested copy at another
// version, a package without a plugin, a stray file, and the program in a subdirectory.
func TestGetRequiredPackages(t *testing.T) {
	root := t.TempDir()
	nm := filepath.Join(root, "node_modules")
	writeFile(t, filepath.Join(nm, "@pulumi/command/package.json"),
		`{"name":"@pulumi/command","version":"1.2.1","pulumi":{"resource":true,"name":"command","version":"1.2.1"}}`)
	writeFile(t, filepath.Join(nm, "@pulumi/openstack/package.json"),
		`{"name":"@pulumi/openstack","version":"3.15.2","pulumi":{"resource":true}}`)
	writeFile(t, filepath.Join(nm, "@acme/thing/package.json"),
		`{"name":"@acme/thing","version":"0.1.0","pulumi":{"resource":true,"server":"https://example.invalid"}}`)
	writeFile(t, filepath.Join(nm, "@pulumi/docker/node_modules/@pulumi/command/package.json"),
		`{"name":"@pulumi/command","version":"0.9.0","pulumi":{"resource":true}}`)
	writeFile(t, filepath.Join(nm, "@pulumi/docker/package.json"),
		`{"name":"@pulumi/docker","version":"5.2.0","pulumi":{"resource":true,"name":"docker"}}`)
	writeFile(t, filepath.Join(nm, "@pulumi/pulumi/package.json"), `{"name":"@pulumi/pulumi","version":"3.248.0"}`)
	writeFile(t, filepath.Join(nm, "yaml/package.json"), `{"name":"yaml","version":"2.9.1"}`)
	writeFile(t, filepath.Join(nm, "stray-file"), "not a package")
	writeFile(t, filepath.Join(nm, ".package-lock.json"), "{}")
	prog := filepath.Join(root, "program")
	if err := os.Mkdir(prog, 0o755); err != nil {
		t.Fatal(err)
	}

	h := &host{}
	resp, err := h.GetRequiredPackages(context.Background(), &pulumirpc.GetRequiredPackagesRequest{
		Info: &pulumirpc.ProgramInfo{ProgramDirectory: prog},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range resp.Packages {
		got = append(got, p.Kind+":"+p.Name+"@"+p.Version+" "+p.Server)
	}
	want := []string{
		"resource:acme/thing@0.1.0 https://example.invalid",
		"resource:command@1.2.1 ",
		"resource:docker@5.2.0 ",
		"resource:command@0.9.0 ",
		"resource:openstack@3.15.2 ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("packages:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestGetRequiredPackagesWithoutNodeModules(t *testing.T) {
	_, err := (&host{}).GetRequiredPackages(context.Background(), &pulumirpc.GetRequiredPackagesRequest{
		Info: &pulumirpc.ProgramInfo{ProgramDirectory: t.TempDir()},
	})
	if err == nil || !strings.Contains(err.Error(), "cannot find node_modules in ") ||
		!strings.Contains(err.Error(), "(npm ci)") {
		t.Fatalf("want an error that names npm ci, got %v", err)
	}
}

func TestGetProgramDependencies(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "package.json"),
		`{"dependencies":{"@pulumi/pulumi":"^3.0.0"},"devDependencies":{"yaml":"2"}}`)
	writeFile(t, filepath.Join(root, "node_modules/@pulumi/pulumi/package.json"), `{"version":"3.248.0"}`)
	writeFile(t, filepath.Join(root, "node_modules/yaml/package.json"), `{"version":"2.9.1"}`)
	resp, err := (&host{}).GetProgramDependencies(context.Background(), &pulumirpc.GetProgramDependenciesRequest{
		Info: &pulumirpc.ProgramInfo{ProgramDirectory: root},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range resp.Dependencies {
		got = append(got, d.Name+"@"+d.Version)
	}
	if strings.Join(got, " ") != "@pulumi/pulumi@3.248.0 yaml@2.9.1" {
		t.Fatalf("dependencies: %v", got)
	}

	// A dependency that package.json names but npm has not installed is an error, not a blank.
	writeFile(t, filepath.Join(root, "package.json"), `{"dependencies":{"left-pad":"1"}}`)
	_, err = (&host{}).GetProgramDependencies(context.Background(), &pulumirpc.GetProgramDependenciesRequest{
		Info: &pulumirpc.ProgramInfo{ProgramDirectory: root},
	})
	if err == nil || !strings.Contains(err.Error(), "cannot find left-pad/package.json in node_modules of ") {
		t.Fatalf("want a not-installed error, got %v", err)
	}
}

func TestParseOptions(t *testing.T) {
	parse := func(m map[string]any) (options, error) {
		s, err := structpb.NewStruct(m)
		if err != nil {
			t.Fatal(err)
		}
		return parseOptions(&pulumirpc.ProgramInfo{Options: s})
	}
	if o, err := parse(nil); err != nil || !o.typescript || o.nodeArgs != nil {
		t.Fatalf("defaults: %+v %v", o, err)
	}
	o, err := parse(map[string]any{"typescript": false, "nodeargs": "--max-old-space-size=4096 --trace-warnings"})
	if err != nil || o.typescript || strings.Join(o.nodeArgs, "|") != "--max-old-space-size=4096|--trace-warnings" {
		t.Fatalf("set: %+v %v", o, err)
	}
	if _, err := parse(map[string]any{"typescript": "yes"}); err == nil {
		t.Fatal("a non-boolean typescript option must be refused")
	}
	if _, err := parse(map[string]any{"binary": "x"}); err == nil || !strings.Contains(err.Error(), `"binary"`) {
		t.Fatalf("an unknown option must be named, got %v", err)
	}
}
