package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// packageJSON is the part of a package.json this host reads. The "pulumi" block is the one
// described by sdk/v3's plugin.PulumiPluginJSON (not imported: that package alone would pull
// in most of the engine's dependencies).
type packageJSON struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Pulumi  *struct {
		Resource         bool   `json:"resource"`
		Name             string `json:"name"`
		Version          string `json:"version"`
		Server           string `json:"server"`
		Parameterization *struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Value   []byte `json:"value"` // base64 in JSON
		} `json:"parameterization"`
	} `json:"pulumi"`
	Dependencies    map[string]string `json:"dependencies"`
	DevDependencies map[string]string `json:"devDependencies"`
}

func readPackageJSON(path string) (packageJSON, error) {
	var p packageJSON
	b, err := os.ReadFile(path)
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("parsing %s: %w", path, err)
	}
	return p, nil
}

// GetRequiredPackages tells the engine which resource plugins the program's SDK packages need,
// so that it loads (or reports missing) command 1.2.1, openstack 3.15.2 etc. before the run.
func (h *host) GetRequiredPackages(_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	pkgs, err := requiredPackages(req.GetInfo().GetProgramDirectory())
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: pkgs}, nil
}

// GetRequiredPlugins is the deprecated form, still called by engines that lack GetRequiredPackages.
func (h *host) GetRequiredPlugins(_ context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetPwd() //nolint:staticcheck // older engines fill only this
	}
	pkgs, err := requiredPackages(dir)
	if err != nil {
		return nil, err
	}
	plugins := make([]*pulumirpc.PluginDependency, 0, len(pkgs))
	for _, p := range pkgs {
		if p.Parameterization != nil {
			continue // not expressible as a plain plugin
		}
		plugins = append(plugins, &pulumirpc.PluginDependency{
			Name: p.Name, Kind: p.Kind, Version: p.Version, Server: p.Server,
		})
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, nil
}

// requiredPackages reads every package installed in the node_modules that the program resolves
// from (the nearest one at or above dir), nested node_modules included, and keeps those whose
// package.json says "pulumi": {"resource": true}.
func requiredPackages(dir string) ([]*pulumirpc.PackageDependency, error) {
	nm, err := findModule(dir, "")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []*pulumirpc.PackageDependency
	err = forEachPackage(nm, func(pkgDir string, p packageJSON) error {
		if p.Pulumi == nil || !p.Pulumi.Resource {
			return nil
		}
		dep, err := packageDependency(p)
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(pkgDir, "package.json"), err)
		}
		key := dep.Name + "@" + dep.Version
		if dep.Parameterization != nil {
			key += "/" + dep.Parameterization.Name + "@" + dep.Parameterization.Version
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, dep)
		}
		return nil
	})
	return out, err
}

// packageDependency names the plugin as upstream does: pulumi.name, else the npm name without
// "@pulumi/" (other scopes keep the scope, less the "@"); pulumi.version, else the npm version.
func packageDependency(p packageJSON) (*pulumirpc.PackageDependency, error) {
	name := p.Pulumi.Name
	if name == "" {
		name = strings.TrimPrefix(strings.TrimPrefix(p.Name, "@pulumi/"), "@")
	}
	ver := p.Pulumi.Version
	if ver == "" {
		ver = p.Version
	}
	if name == "" || ver == "" {
		return nil, errors.New(`a Pulumi resource package needs a name and a version`)
	}
	dep := &pulumirpc.PackageDependency{
		Name: name, Kind: "resource", Version: ver, Server: p.Pulumi.Server,
	}
	if pz := p.Pulumi.Parameterization; pz != nil {
		dep.Parameterization = &pulumirpc.PackageParameterization{
			Name: pz.Name, Version: pz.Version, Value: pz.Value,
		}
	}
	return dep, nil
}

// forEachPackage calls fn for each package in node_modules dir (scoped ones included) and
// recurses into their own node_modules. Directories that are not packages are skipped.
func forEachPackage(nm string, fn func(string, packageJSON) error) error {
	entries, err := os.ReadDir(nm)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue // .bin, .package-lock.json, .cache
		}
		path := filepath.Join(nm, name)
		if strings.HasPrefix(name, "@") {
			if err := forEachPackage(path, fn); err != nil {
				return err
			}
			continue
		}
		if st, err := os.Stat(path); err != nil || !st.IsDir() {
			continue // a stray file or a dangling link
		}
		p, err := readPackageJSON(filepath.Join(path, "package.json"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return err
		}
		if err := fn(path, p); err != nil {
			return err
		}
		if _, err := os.Stat(filepath.Join(path, "node_modules")); err == nil {
			if err := forEachPackage(filepath.Join(path, "node_modules"), fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// GetProgramDependencies lists the packages that the program's package.json names, with the
// versions installed, for `pulumi about`. Only direct dependencies: transitive ones would need
// the package manager's view of the tree.
func (h *host) GetProgramDependencies(_ context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := req.GetInfo().GetProgramDirectory()
	manifest, err := findModuleRoot(dir)
	if err != nil {
		return nil, err
	}
	p, err := readPackageJSON(manifest)
	if err != nil {
		return nil, err
	}
	var names []string
	for n := range p.Dependencies {
		names = append(names, n)
	}
	for n := range p.DevDependencies {
		if _, dup := p.Dependencies[n]; !dup {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	deps := make([]*pulumirpc.DependencyInfo, 0, len(names))
	for _, n := range names {
		path, err := findModule(filepath.Dir(manifest), n+"/package.json")
		if err != nil {
			return nil, err
		}
		installed, err := readPackageJSON(path)
		if err != nil {
			return nil, err
		}
		deps = append(deps, &pulumirpc.DependencyInfo{Name: n, Version: installed.Version})
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

// findModuleRoot finds the package.json of the npm package that holds dir.
func findModuleRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "package.json")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no package.json in %s or its parents", abs)
		}
	}
}
