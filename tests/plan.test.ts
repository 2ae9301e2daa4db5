// The offline plan command, run as a user runs it (from source here, transpiled only: the suite
// typechecks it already; npm run plan precompiles).
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { repoRoot } from "../lib/paths";
import { readStackFile } from "../tools/stackFiles";

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

    it("never deletes what it did not write: a non-empty directory without an earlier plan is refused, untouched", () => {
        const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-plan-out-"));
        try {
            const checkout = path.join(scratch, "checkout");
            fs.mkdirSync(path.join(checkout, ".git"), { recursive: true });
            fs.writeFileSync(path.join(checkout, ".git", "HEAD"), "ref: refs/heads/main\n");
            fs.writeFileSync(path.join(checkout, "plan.json"), "mine\n");
            const before = filesBelow(checkout);
            for (const target of [checkout, path.relative(repoRoot, checkout)]) {
                const result = plan(["--stack", "test", "--commit", commit, "--out", target]);
                assert.equal(result.status, 2, result.stdout);
                assert.match(result.stderr, /^plan: error: --out \S+checkout is not empty and holds no earlier plan \(no \.holodeck-plan file\): the plan replaces only its own output and never deletes what it did not write\. Give a new or empty directory/);
            }
            // The project itself, as `--out .` from its root.
            assert.match(plan(["--stack", "test", "--commit", commit, "--out", "."]).stderr, /^plan: error: --out \S+ is not empty and holds no earlier plan/);
            assert.ok(fs.existsSync(path.join(repoRoot, "package.json")));
            assert.deepEqual(filesBelow(checkout), before);
            assert.equal(fs.readFileSync(path.join(checkout, "plan.json"), "utf8"), "mine\n");

            const file = path.join(scratch, "a-file");
            fs.writeFileSync(file, "x");
            assert.match(plan(["--stack", "test", "--out", file]).stderr, /^plan: error: --out \S+a-file cannot be used \(it is a file\): give a new or empty directory/);
            assert.match(plan(["--stack", "test", "--out", ""]).stderr, /^plan: error: --out is empty: give a value/);
        } finally {
            fs.rmSync(scratch, { recursive: true, force: true });
        }
    });

    it("replaces only its own files in an earlier plan's directory", () => {
        // `out` holds the earlier tests' plan: plan.json, rendered/ and the marker.
        assert.ok(fs.existsSync(path.join(out, ".holodeck-plan")));
        fs.writeFileSync(path.join(out, "notes.txt"), "kept\n");
        fs.writeFileSync(path.join(out, "rendered", "stale.yaml"), "from an earlier plan\n");
        const result = plan(["--stack", "prod", "--out", out]);
        assert.equal(result.status, 0, result.stderr);
        assert.equal(fs.readFileSync(path.join(out, "notes.txt"), "utf8"), "kept\n");
        assert.ok(!fs.existsSync(path.join(out, "rendered", "stale.yaml")), "rendered/ is the plan's own: renewed");
        assert.ok(fs.existsSync(path.join(out, "plan.json")));
    });

    it("plans a stack file with encrypted values, as `pulumi config set --secret --path` writes them, with placeholders kept secret", () => {
        const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-plan-secure-"));
        try {
            const stackFile = path.join(scratch, "Pulumi.test.yaml");
            // What `pulumi config set --secret --path 'holodeck:appSecrets.api_token' ...` and
            // `pulumi config set --secret openstack:password ...` leave in the stack file.
            fs.writeFileSync(stackFile, `${fs.readFileSync(path.join(repoRoot, "Pulumi.test.yaml"), "utf8")}
  holodeck:appSecrets:
    api_token:
      secure: v1:8hTIcfT5Ti9pm1Zq:5dMiGmJvgZqf2Qm3cKLqbnIvyH2ZpA==
    db_password:
      secure: v1:Bq2yRk1m0q7C8p2o:Yv7V2a7o8wX1l2c3k4j5h6g7f8==
  openstack:password:
    secure: v1:Jx1l0n7w2pRrB3nT:c2VjcmV0LXBhc3N3b3Jk
`);
            const planOut = path.join(scratch, "plan");
            const result = plan(["--stack", "test", "--commit", commit, "--config-file", stackFile, "--out", planOut]);
            assert.equal(result.status, 0, result.stderr);
            assert.match(result.stdout, /^3 encrypted values \(holodeck:appSecrets\.api_token, holodeck:appSecrets\.db_password, openstack:password\) cannot be decrypted offline: planned with placeholder values, kept secret/m);
            const written = JSON.parse(fs.readFileSync(path.join(planOut, "plan.json"), "utf8"));
            assert.deepEqual(written.encryptedPlaceholders, ["holodeck:appSecrets.api_token", "holodeck:appSecrets.db_password", "openstack:password"]);
            const pillarFile = filesBelow(path.join(planOut, "rendered")).find((file) => /\/releases\/[^/]+\.sls$/.test(file));
            assert.ok(pillarFile);
            const pillar = parse(fs.readFileSync(pillarFile, "utf8")) as { holodeck: { secrets: Record<string, string> } };
            assert.deepEqual(pillar.holodeck.secrets, { api_token: "[secret]", db_password: "[secret]" });
            for (const file of [path.join(planOut, "plan.json"), ...filesBelow(path.join(planOut, "rendered"))]) {
                assert.doesNotMatch(fs.readFileSync(file, "utf8"), /offline-placeholder|v1:/, `${file} shows no secret value`);
            }
        } finally {
            fs.rmSync(scratch, { recursive: true, force: true });
        }
    });

    it("reads stack files as the CLI hands them over, and says what is wrong with a broken one", () => {
        const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-plan-stackfile-"));
        const write = (text: string) => {
            const file = path.join(scratch, "Pulumi.x.yaml");
            fs.writeFileSync(file, text);
            return file;
        };
        try {
            // Scalars keep their text (0x10 is not 16, 02 not 2); an empty value is empty.
            assert.deepEqual(readStackFile(write("config:\n  holodeck:serverCount: 0x10\n  holodeck:appPort: 08000\n  holodeck:commit:\n  holodeck:loadBalancer: yes\n")).config, {
                "holodeck:serverCount": "0x10", "holodeck:appPort": "08000", "holodeck:commit": "", "holodeck:loadBalancer": "yes",
            });
            assert.throws(() => readStackFile(write("config:\n  - holodeck:commit: abc\n")), /config must be a mapping of keys \(holodeck:commit: \.\.\.\) to values/);
            assert.throws(() => readStackFile(write("config:\n  commit: abc\n")), /config key "commit" is not namespace:key \(e\.g\. holodeck:commit\)/);
            assert.throws(() => readStackFile(write("config:\n  holodeck:commit: [\n")), /Pulumi\.x\.yaml is not valid YAML: /);
            assert.throws(() => readStackFile(path.join(scratch, "absent.yaml")), /absent\.yaml cannot be read \(ENOENT\)/);
        } finally {
            fs.rmSync(scratch, { recursive: true, force: true });
        }
    });
});
