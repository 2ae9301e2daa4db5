// The Go tests of Holodeck's own engine pieces, against the binaries scripts/engine.sh built: the
// language host's package and option handling, and each bridged plugin over gRPC (schema, config
// and resource checks, what Create returns, which changes replace a resource).
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { runAsync } from "../tools/localRelease";
import { repoRoot } from "../lib/paths";
import { installedPlugin } from "./realEngine";

async function goTest(module: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<void> {
    const run = await runAsync("go", ["test", "-count=1", ...args], { cwd: path.join(repoRoot, "engine", module), env: { ...process.env, ...env } });
    assert.equal(run.status, 0, `go test ${args.join(" ")} in engine/${module}:\n${run.stdout}${run.stderr}`);
    assert.match(run.stdout, /^ok\s/m);
    assert.doesNotMatch(run.stdout, /no tests to run/, `go test ${args.join(" ")} ran no test`);
}

/** engine/plugintest's tests of one plugin (Test<Prefix>...), against the plugin scripts/engine.sh installed. */
const pluginTests = (prefix: string, name: string) =>
    goTest("plugintest", ["-run", `^Test${prefix}`, "."], { [`${name.toUpperCase()}_PLUGIN`]: installedPlugin(name) });

describe("the engine's Go tests", function () {
    this.timeout(600_000);

    it("language host: required packages, program dependencies, runtime options", () => goTest("cli", ["./language-nodejs"]));

    it("OpenStack plugin: version, schema, CheckConfig, Check and Diff over gRPC", () =>
        pluginTests("OpenStack", "openstack"));

    it("random plugin: version, schema, Check, Create of RandomPassword and RandomBytes, Diff over gRPC", () =>
        pluginTests("Random", "random"));

    it("tls plugin: version, schema, Check, Create of real ED25519 and RSA keys, Diff over gRPC", () =>
        pluginTests("TLS", "tls"));

    it("command plugin: Check's defaults, Diff's replace rules, local and remote commands and CopyToRemote against an SSH server over gRPC", () =>
        pluginTests("Command", "command"));

    it("docker plugin: version, schema, Check, Diff, Create/Read/Delete of a network, volume and server container in the local Docker engine over gRPC", () =>
        pluginTests("Docker", "docker"));
});
