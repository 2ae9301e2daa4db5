// The offline plan command, run as a user runs it (from source here, transpiled only: the suite
// typechecks it already; npm run plan precompiles).
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { repoRoot } from "../lib/paths";

function plan(args: string[]) {
    return spawnSync(process.execPath, ["-r", "ts-node/register", path.join(repoRoot, "scripts", "plan.ts"), ...args], {
        cwd: repoRoot, encoding: "utf8", env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
    });
}

function filesBelow(dir: string): string[] {
    return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => path.join(entry.parentPath, entry.name));
}

describe("npm run plan", function () {
    let out: string;
    const commit = "3f786850e387550fdab836ed7e6dc881de23001b";
    before(() => {
        out = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-plan-"));
    });
    after(() => fs.rmSync(out, { recursive: true, force: true }));

    it("writes plan.json and every rendered document of the test stack, and says what a new commit replaces", () => {
        const result = plan(["--stack", "test", "--commit", commit, "--out", out]);
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stdout, /^Offline plan of stack test \(not a pulumi preview: mocks, no cloud\): \d+ resources/);
        const replaced = /^ {2}replace \(\d+\): (.*)$/m.exec(result.stdout)?.[1].split(", ") ?? [];
        const stays = /^ {2}stay \(\d+\): (.*)$/m.exec(result.stdout)?.[1].split(", ") ?? [];
        assert.ok(replaced.includes("app-0") && replaced.includes("app-health-gate") && replaced.includes("build-minion-build"), result.stdout);
        assert.ok(stays.includes("salt-master-host-server") && stays.includes("build-minion-host-server") && stays.some((name) => name.startsWith("net-admin-tcp-22-from-")), result.stdout);

        const written = JSON.parse(fs.readFileSync(path.join(out, "plan.json"), "utf8"));
        assert.match(written.note, /Not a `pulumi preview`/);
        assert.equal(written.commit, commit);
        const server = written.resources.find((resource: { name: string }) => resource.name === "app-0");
        assert.deepEqual(server.options.replaceOnChanges, ["imageId", "flavorName", "userData"]);
        assert.equal(server.options.deleteBeforeReplace, false);
        assert.equal(server.inputs.userData, "rendered/app-0.cloud-init.yaml");
        assert.equal(written.outputs.artifact.url, "[secret]");

        const rendered = filesBelow(path.join(out, "rendered"));
        assert.ok(rendered.some((file) => file.endsWith("salt-master-host-server/etc/salt/master.d/holodeck.conf")), rendered.join("\n"));
        assert.ok(rendered.some((file) => file.endsWith("app-0.cloud-init.yaml")));
        for (const file of [path.join(out, "plan.json"), ...rendered]) {
            assert.doesNotMatch(fs.readFileSync(file, "utf8"), /BEGIN (RSA |OPENSSH )?PRIVATE KEY|offline-artifacts-uploader-secret/, `${file} holds no secret`);
        }
        assert.match(fs.readFileSync(path.join(out, "rendered", "app-0.cloud-init.yaml"), "utf8"), /\[redacted RSA private key\]/);
        const pillarFile = rendered.find((file) => /master\/srv\/pillar\/releases\/holodeck-hello-test-[0-9a-f]{12}\.sls$/.test(file));
        assert.ok(pillarFile, rendered.join("\n"));
        const pillar = parse(fs.readFileSync(pillarFile, "utf8")) as { holodeck: { release: { url: string; sha256: string }; config: Record<string, string> } };
        assert.equal(pillar.holodeck.release.url, "[secret]");
        assert.match(pillar.holodeck.release.sha256, /^[0-9a-f]{64}$/);
        assert.deepEqual(pillar.holodeck.config, { greeting: "Hello from the test stack" });
    });

    it("plans prod from a stand-in of the test stack's verified artifact", () => {
        const result = plan(["--stack", "prod", "--out", out]);
        assert.equal(result.status, 0, result.stderr);
        const written = JSON.parse(fs.readFileSync(path.join(out, "plan.json"), "utf8"));
        const from = Object.values(written.standIns.promotedFrom)[0] as { artifact: { sha256: string } };
        assert.equal(written.outputs.artifact.sha256, from.artifact.sha256);
        assert.ok(!written.resources.some((resource: { type: string }) => resource.type === "holodeck:index:BuildMinion"));
    });

    it("refuses the test stack's placeholder commit, naming the fix", () => {
        const result = plan(["--stack", "test", "--out", out]);
        assert.equal(result.status, 2);
        assert.match(result.stderr, /plan: error: Pulumi.test.yaml: invalid stack configuration:\n {2}- holodeck:commit is still the placeholder[\s\S]*plan a commit with --commit SHA/);
    });

    it("refuses an unknown stack and a short commit", () => {
        assert.match(plan(["--stack", "staging"]).stderr, /plan: error: no Pulumi.staging.yaml: use a stack that has a stack file/);
        assert.match(plan(["--stack", "test", "--commit", "3f78685"]).stderr, /plan: error: --commit '3f78685' is not a full 40-hex commit SHA/);
    });
});
