// Holodeck's own Node.js language host (engine/cli/language-nodejs) under the real CLI: config and
// secrets reach the program, outputs and their secrecy cross a StackReference, the engine learns
// the plugins node_modules asks for, and a project without dependencies fails with what to do.
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { repoRoot } from "../lib/paths";
import { Workspace } from "./realEngine";

const fixtures = path.join(repoRoot, "tests", "fixtures", "engine");

describe("the Node.js language host under the real CLI", function () {
    this.timeout(300_000);
    let workspace: Workspace;
    let exporter: string;
    before(async () => {
        workspace = new Workspace();
        exporter = await workspace.project("exporter", path.join(fixtures, "exporter"), { test: { "holodeck:artifact": "holodeck_1.0.0_all.deb" } });
        await workspace.pulumiOk(exporter, "config", "set", "--secret", "token", "s3cr3t", "-s", "test");
        await workspace.pulumiOk(exporter, "up", "--yes", "--skip-preview", "-s", "test");
    });
    after(() => workspace.remove());

    it("runs a program with its config and secret config, and keeps secret outputs secret", async () => {
        const shown = JSON.parse(await workspace.pulumiOk(exporter, "stack", "output", "--json", "--show-secrets", "-s", "test")) as unknown;
        assert.deepEqual(shown, { artifact: "holodeck_1.0.0_all.deb", dryRun: false, stack: "test", token: "s3cr3t" });
        const masked = JSON.parse(await workspace.pulumiOk(exporter, "stack", "output", "--json", "-s", "test")) as Record<string, unknown>;
        assert.equal(masked.token, "[secret]");
    });

    it("reads another stack's outputs through a StackReference, secrets kept secret", async () => {
        const reader = await workspace.project("reader", path.join(fixtures, "reader"), { prod: { "holodeck:source": "organization/holodeck/test" } });
        await workspace.pulumiOk(reader, "up", "--yes", "--skip-preview", "-s", "prod");
        assert.deepEqual(JSON.parse(await workspace.pulumiOk(reader, "stack", "output", "--json", "--show-secrets", "-s", "prod")),
            { artifact: "holodeck_1.0.0_all.deb", token: "s3cr3t" });
        assert.equal((JSON.parse(await workspace.pulumiOk(reader, "stack", "output", "--json", "-s", "prod")) as Record<string, unknown>).token, "[secret]");
    });

    it("tells the engine node and the resource plugins node_modules asks for", async () => {
        const about = await workspace.pulumiOk(exporter, "about", "-s", "test");
        assert.match(about, /^language\s+nodejs\s+3\.248\.0$/m, about);
        for (const [plugin, version] of [["command", "1.2.1"], ["openstack", "3.15.2"], ["random", "4.21.2"], ["tls", "5.6.1"]]) {
            assert.match(about, new RegExp(`^resource\\s+${plugin}\\s+${version.replace(/\./g, "\\.")}$`, "m"), about);
        }
        assert.match(about, /executable='\/usr\/bin\/node' version='20\./, about);
    });

    it("refuses a project without node_modules before running it, saying to install dependencies", async () => {
        const bare = await workspace.project("bare", path.join(fixtures, "exporter"), {}, { nodeModules: false });
        const install = await workspace.pulumi(bare, "install", "--no-plugins");
        assert.notEqual(install.status, 0);
        assert.match(`${install.stdout}${install.stderr}`, /cannot find @pulumi\/pulumi in node_modules of .*bare or its parents: install the project's dependencies \(npm ci\) first/);
    });
});
