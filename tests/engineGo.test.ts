// The Go tests of Holodeck's own engine pieces, against the binaries scripts/engine.sh built: the
// language host's package and option handling, and each bridged plugin over gRPC (schema, config
// and resource checks, what Create returns, which changes replace a resource).
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { runAsync } from "../lib/localRelease";
import { repoRoot } from "../lib/paths";
import { installedPlugin } from "./realEngine";

async function goTest(module: string, pkg: string, env: NodeJS.ProcessEnv = {}): Promise<void> {
    const run = await runAsync("go", ["test", "-count=1", pkg], { cwd: path.join(repoRoot, "engine", module), env: { ...process.env, ...env } });
    assert.equal(run.status, 0, `go test ${pkg} in engine/${module}:\n${run.stdout}${run.stderr}`);
    assert.match(run.stdout, /^ok\s/m);
}

describe("the engine's Go tests", function () {
    this.timeout(600_000);

    it("language host: required packages, program dependencies, runtime options", () => goTest("cli", "./language-nodejs"));

    it("OpenStack plugin: version, schema, CheckConfig, Check and Diff over gRPC", () =>
        goTest("openstack", "./plugintest", { OPENSTACK_PLUGIN: installedPlugin("openstack") }));

    it("random plugin: version, schema, Check, Create of RandomPassword and RandomBytes, Diff over gRPC", () =>
        goTest("random", "./plugintest", { RANDOM_PLUGIN: installedPlugin("random") }));

    it("tls plugin: version, schema, Check, Create of real ED25519 and RSA keys, Diff over gRPC", () =>
        goTest("tls", "./plugintest", { TLS_PLUGIN: installedPlugin("tls") }));
});
