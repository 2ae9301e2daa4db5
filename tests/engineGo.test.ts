// The Go tests of Holodeck's own engine pieces, against the binaries scripts/engine.sh built: the
// language host's package and option handling, and the OpenStack plugin over gRPC (schema, config
// and resource checks, and which changes replace a resource).
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { runAsync } from "../lib/localRelease";
import { repoRoot } from "../lib/paths";
import { engineBin } from "./realEngine";

async function goTest(module: string, pkg: string, env: NodeJS.ProcessEnv = {}): Promise<void> {
    const run = await runAsync("go", ["test", "-count=1", pkg], { cwd: path.join(repoRoot, "engine", module), env: { ...process.env, ...env } });
    assert.equal(run.status, 0, `go test ${pkg} in engine/${module}:\n${run.stdout}${run.stderr}`);
    assert.match(run.stdout, /^ok\s/m);
}

describe("the engine's Go tests", function () {
    this.timeout(600_000);

    it("language host: required packages, program dependencies, runtime options", () => goTest("cli", "./language-nodejs"));

    it("OpenStack plugin: version, schema, CheckConfig, Check and Diff over gRPC", () =>
        goTest("openstack", "./plugintest", { OPENSTACK_PLUGIN: path.join(path.dirname(engineBin()), "plugins", "pulumi-resource-openstack") }));
});
