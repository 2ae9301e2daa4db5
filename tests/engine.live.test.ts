// The program under the real Pulumi engine (scripts/engine.sh): what mocks cannot show. The CLI
// runs the program through Holodeck's own Node.js language host, offline, on a file backend.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { repoRoot } from "../lib/paths";
import { refusedPort } from "../tools/localRelease";
import { runOffline } from "../tools/offlineRun";
import { commitA, commitB, prodConfig, verifiedArtifact } from "./programConfig";
import { assertReportedError, previewSteps, Workspace } from "./realEngine";

const promotionSource = path.join(repoRoot, "tests", "fixtures", "promotion-source");
const policyViolations = path.join(repoRoot, "tests", "fixtures", "policy-violations");

/** The steps a `pulumi preview --json` reports, as "op type::name", the stack itself left out. */
const steps = (previewJson: string) => previewSteps(previewJson).map((step) => `${step.op} ${step.resource}`);

/** The error the program fails with under the SDK's mocks, for the same configuration. */
async function mockFailure(stack: string, config: Record<string, string>, cloud = {}): Promise<string> {
    try {
        const program = (await import("../index")).default;
        await runOffline(program, { project: "holodeck", stack, config, cloud });
    } catch (error) {
        return (error as Error).message;
    }
    assert.fail("the program ran under mocks without the error");
}

describe("the program under the real engine", function () {
    this.timeout(600_000);
    // A backend per test: the fixture stands in for project holodeck's test stack.
    let workspace: Workspace;
    beforeEach(() => (workspace = new Workspace()));
    afterEach(() => workspace.remove());

    it("fails a preview with a config error before any resource, with the mocks' message and no stack trace", async () => {
        // The shipped test stack as it is: its commit is a placeholder the program refuses.
        const shipped = (parse(fs.readFileSync(path.join(repoRoot, "Pulumi.test.yaml"), "utf8")) as { config: Record<string, unknown> }).config;
        const asStrings = Object.fromEntries(Object.entries(shipped).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]));
        const expected = await mockFailure("test", asStrings);
        assert.match(expected, /^invalid stack configuration:\n {2}- holodeck:commit/);
        const project = await workspace.project("config-error", repoRoot, { test: shipped });
        const preview = await workspace.pulumi(project, "preview", "-s", "test", "--json");
        assertReportedError(preview, expected);
        assert.deepEqual(steps(preview.stdout), [], "no resource before the config error");
    });

    describe("prod's promotion through a real StackReference", () => {
        let source: string;
        let prod: string;
        const promoteFrom = "organization/holodeck/test";
        beforeEach(async () => {
            source = await workspace.project("promotion-source", promotionSource, { test: { "source:outputs": "{}" } });
            prod = await workspace.project("prod", repoRoot, { prod: { ...prodConfig, "holodeck:promoteFrom": promoteFrom } });
        });

        it("accepts a verified artifact: the preview goes on to the program's resources", async () => {
            workspace.configure(source, "test", { "source:outputs": JSON.stringify(verifiedArtifact) });
            await workspace.pulumiOk(source, "up", "--yes", "--skip-preview", "-s", "test");
            const preview = await workspace.pulumi(prod, "preview", "-s", "prod", "--json");
            const output = `${preview.stdout}${preview.stderr}`;
            assert.doesNotMatch(output, /refusing to promote|exports no artifact|invalid stack configuration/, output);
            // Past the promotion, the program registers its resources, and what fails is theirs: no
            // cloud answers here, so its data sources fail, before any command resource registers
            // (the command plugin is built now: tests/engineCommand.live.test.ts). With a cloud, this
            // becomes the whole preview of prod.
            const { diagnostics = [] } = JSON.parse(preview.stdout) as { diagnostics?: { urn?: string; severity: string; message: string }[] };
            const onResources = diagnostics.filter((diagnostic) => diagnostic.severity === "error" && diagnostic.urn && !diagnostic.urn.includes("::pulumi:pulumi:Stack::"));
            assert.ok(onResources.length > 0, output);
            assert.doesNotMatch(output, /unhandled exception/, "the failures are reported on their resources");
            assert.ok(onResources.every((diagnostic) => /could not (read|find) .* in the cloud|from the cloud/.test(diagnostic.message)), output);
        });

        const refusals: [string, Record<string, unknown>, Record<string, string>, RegExp][] = [
            ["an unverified artifact", { ...verifiedArtifact, verification: { ...verifiedArtifact.verification, passed: false, failures: 3 } }, {},
                /refusing to promote artifact (ab){32} \(commit 3f7868\w+\): stack organization\/holodeck\/test has not verified it \(it reports passed=false/],
            ["an artifact verified under another sha256", { ...verifiedArtifact, verification: { ...verifiedArtifact.verification, sha256: "cd".repeat(32) } }, {},
                /has not verified it \(it reports passed=true, sha256=(cd){32}/],
            ["a commit other than the pinned one", verifiedArtifact, { "holodeck:commit": commitB },
                new RegExp(`stack organization/holodeck/test verified commit ${commitA}, but holodeck:commit pins ${commitB}`)],
            ["a stack that exports no artifact", {}, {}, /stack organization\/holodeck\/test exports no artifact to promote/],
        ];
        for (const [what, exported, pin, message] of refusals) {
            it(`refuses ${what} before any resource, as the mocks do, naming the reason`, async () => {
                // JSON text: YAML would turn the dates in it into timestamps.
                workspace.configure(source, "test", { "source:outputs": JSON.stringify(exported) });
                await workspace.pulumiOk(source, "up", "--yes", "--skip-preview", "-s", "test");
                const config = { ...prodConfig, "holodeck:promoteFrom": promoteFrom, ...pin };
                workspace.configure(prod, "prod", config);

                const expected = await mockFailure("prod", config, { stackOutputs: { [promoteFrom]: exported } });
                assert.match(expected, message);
                const preview = await workspace.pulumi(prod, "preview", "-s", "prod", "--json");
                assertReportedError(preview, expected);
                assert.deepEqual(steps(preview.stdout), [`read pulumi:pulumi:StackReference::${promoteFrom}`], "no resource before the refusal, only the reference read");
            });
        }
    });

    it("loads the policy pack, which rejects each kind of violation of a program, each once", async () => {
        // The OpenStack provider authenticates only when it first calls the cloud: a preview of
        // resources alone never does, so the auth URL is a port that refuses connections.
        const keystone = await refusedPort();
        try {
            const config = { "openstack:authUrl": `http://127.0.0.1:${keystone.port}/v3`, "openstack:region": "RegionOne" };
            const project = await workspace.project("policy-violations", policyViolations, { prod: config });
            const preview = await workspace.pulumi(project, "preview", "-s", "prod", "--policy-pack", path.join(repoRoot, "policy"));
            const output = `${preview.stdout}${preview.stderr}`;
            assert.notEqual(preview.status, 0, output);
            const reported = [...output.matchAll(/^\s+- \[mandatory\]\s+(\S+)\s+\(\S+: (\S+)\)$/gm)].map(([, policy, resource]) => `${policy} ${resource}`);
            assert.deepEqual(reported.sort(), [
                "app-server-names-release app-without-user-data",
                "artifact-container-private world-readable",
                "instance-has-keypair no-keypair",
                "instances-create-before-delete delete-first",
                "no-secrets-in-command-lines key-in-command-line",
                "no-world-open-admin-ports ssh-from-anywhere",
                "prod-image-by-id image-by-name",
                "salt-ports-from-minions-group salt-from-a-cidr",
            ], output);
            // The plugin is installed under the version the SDK asks for: no mismatch or PATH warning.
            assert.doesNotMatch(output, /warning/i, output);
            const plugins = await workspace.pulumiOk(project, "plugin", "ls");
            assert.match(plugins, /^openstack\s+resource\s+3\.15\.2\s/m, plugins);
            assert.match(plugins, /^command\s+resource\s+1\.2\.1\s/m, plugins);
        } finally {
            await keystone.release();
        }
    });
});
