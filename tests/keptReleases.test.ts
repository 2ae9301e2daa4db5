// holodeck:keepReleases: the list of verified releases as plain data, and the program under mocks
// reading its own last outputs back and redeploying a kept release without a build.
import * as assert from "node:assert/strict";
import { buildKey, keepRelease, KeptRelease, KeptReleases, parseKeptReleases, standIn } from "../lib/keptReleases";
import { BuildSettings, Manifest } from "../lib/holoMaker";
import { OfflineRun, reveal, runOffline } from "../tools/offlineRun";
import { commitA, commitB, testConfig } from "./programConfig";

const settings: BuildSettings = {
    repo: "https://git.example.com/org/app.git", commit: "a".repeat(40), subdir: "", packageName: "", prefix: "", python: "python3", service: "app",
    indexUrl: "", findLinks: [], withPip: false,
};
const release = (key: string, sha256: string): KeptRelease => ({
    buildKey: key.repeat(64), manifest: { sha256: sha256.repeat(64), file: `app_1.0.0+git.${key}_amd64.deb` } as Manifest,
});

describe("kept releases", () => {
    it("keys a build by its commit, settings and scripts, whatever their order", () => {
        const key = buildKey(settings, ["s1", "s2"]);
        assert.match(key, /^[0-9a-f]{64}$/);
        assert.equal(buildKey({ ...settings }, ["s2", "s1"]), key);
        assert.equal(buildKey(Object.fromEntries(Object.entries(settings).reverse()) as unknown as BuildSettings, ["s1", "s2"]), key);
        for (const changed of [{ ...settings, commit: "b".repeat(40) }, { ...settings, python: "python3.12" }, { ...settings, findLinks: ["/wheels"] }]) {
            assert.notEqual(buildKey(changed, ["s1", "s2"]), key);
        }
        assert.notEqual(buildKey(settings, ["s1", "s3"]), key);
    });

    it("puts the verified release first, drops its older entry, keeps at most N, and records whether it was built", () => {
        const [a, b, c, d] = [release("a", "1"), release("b", "2"), release("c", "3"), release("d", "4")];
        const none = { releases: [], built: "" };
        assert.deepEqual(keepRelease(none, a, true, 3), { releases: [a], built: a.buildKey });
        assert.deepEqual(keepRelease({ releases: [b, a], built: b.buildKey }, c, true, 3), { releases: [c, b, a], built: c.buildKey });
        assert.deepEqual(keepRelease({ releases: [c, b, a], built: c.buildKey }, a, false, 3), { releases: [a, c, b], built: "" });
        assert.deepEqual(keepRelease({ releases: [c, b, a], built: "" }, d, true, 2), { releases: [d, c], built: d.buildKey });
    });

    it("stands a kept release in for a build, but never for the build the stack holds", () => {
        const [a, b] = [release("a", "1"), release("b", "2")];
        assert.equal(standIn({ releases: [b, a], built: b.buildKey }, a.buildKey), a);
        assert.equal(standIn({ releases: [b, a], built: b.buildKey }, b.buildKey), undefined, "an up with nothing changed would drop the build");
        assert.equal(standIn({ releases: [a, b], built: "" }, a.buildKey), a, "a release that stood in last time stands in again");
        assert.equal(standIn({ releases: [b, a], built: b.buildKey }, "c".repeat(64)), undefined);
    });

    it("reads back what it exported, and refuses anything else, naming the entry", () => {
        const kept = { releases: [release("a", "1"), release("b", "2")], built: release("a", "1").buildKey };
        assert.deepEqual(parseKeptReleases(undefined), { releases: [], built: "" });
        assert.deepEqual(parseKeptReleases(JSON.parse(JSON.stringify(kept))), kept);
        assert.deepEqual(parseKeptReleases({ ...kept, built: "" }), { ...kept, built: "" });
        assert.throws(() => parseKeptReleases([]), /keptReleases output is not a list of releases and the key of a build/);
        assert.throws(() => parseKeptReleases({ ...kept, built: "x" }), /not a list of releases and the key of a build/);
        assert.throws(() => parseKeptReleases({ ...kept, releases: [kept.releases[0], { buildKey: "x" }] }), /entry 1 of the stack's keptReleases output is not a kept release/);
        assert.throws(() => parseKeptReleases({ ...kept, releases: [{ ...kept.releases[0], manifest: { ...kept.releases[0].manifest, file: "../etc/passwd" } }] }), /entry 0/);
    });
});

describe("the program with holodeck:keepReleases, under mocks", function () {
    this.timeout(120_000);
    type Program = () => Promise<Record<string, unknown>>;
    let program: Program;
    const self = "organization/holodeck/test";
    const config = (commit: string, keep = "3") => ({ ...testConfig, "holodeck:commit": commit, "holodeck:keepReleases": keep });
    const up = (commit: string, previous: Record<string, unknown>, keep?: string, registered?: string[]) =>
        runOffline(program, { project: "holodeck", stack: "test", config: config(commit, keep), cloud: { stackOutputs: { [self]: previous } }, registered });
    const outputs = (run: OfflineRun) => reveal(run.outputs) as { keptReleases?: KeptReleases; artifact: { sha256: string; commit: string; url: string } };
    const builds = (run: OfflineRun) => run.resources.filter((resource) => resource.name === "build-minion-build");

    before(async () => {
        program = (await import("../index")).default as Program;
    });

    it("builds A, then B, keeping both newest first; set back to A, redeploys A's .deb without a build; again, changes nothing", async () => {
        const a = await up(commitA, {});
        assert.equal(builds(a).length, 1);
        const keptA = outputs(a).keptReleases!;
        assert.deepEqual(keptA.releases.map((kept) => kept.manifest.sha256), [outputs(a).artifact.sha256]);
        assert.equal(keptA.built, keptA.releases[0].buildKey);
        // An up with nothing changed keeps the build the stack holds.
        assert.equal(builds(await up(commitA, { keptReleases: keptA })).length, 1);

        const b = await up(commitB, { keptReleases: keptA });
        assert.equal(builds(b).length, 1);
        const keptB = outputs(b).keptReleases!;
        assert.deepEqual(keptB.releases.map((kept) => kept.manifest.commit), [commitB, commitA]);

        const back = await up(commitA, { keptReleases: keptB });
        assert.deepEqual(builds(back), [], "a build ran for a kept release");
        assert.equal(outputs(back).artifact.sha256, outputs(a).artifact.sha256);
        assert.equal(new URL(outputs(back).artifact.url).pathname.split("/").pop(), keptA.releases[0].manifest.file);
        assert.deepEqual(outputs(back).keptReleases, { releases: [keptA.releases[0], keptB.releases[0]], built: "" });
        // The build minion's server stays for the next build.
        assert.ok(back.resources.some((resource) => resource.name === "build-minion-host"));
        // Nothing changed since: the kept release stands in again, and no build comes back.
        assert.deepEqual(builds(await up(commitA, { keptReleases: outputs(back).keptReleases })), []);
    });

    it("builds again when a build setting changed since the release was kept, and keeps only N", async () => {
        const a = await up(commitA, {});
        const b = await up(commitB, { keptReleases: outputs(a).keptReleases });
        const changed = await runOffline(program, {
            project: "holodeck", stack: "test", config: { ...config(commitA, "1"), "holodeck:python": "/usr/bin/python3.11" },
            cloud: { stackOutputs: { [self]: { keptReleases: outputs(b).keptReleases } } },
        });
        assert.equal(builds(changed).length, 1);
        assert.equal(outputs(changed).keptReleases!.releases.length, 1);
        assert.notEqual(outputs(changed).keptReleases!.built, outputs(a).keptReleases!.built);
    });

    it("reads nothing of its own outputs without keepReleases, and exports no list", async () => {
        const registered: string[] = [];
        const run = await up(commitA, {}, "0", registered);
        assert.deepEqual(registered.filter((name) => name.startsWith("pulumi:pulumi:StackReference")), []);
        assert.equal(outputs(run).keptReleases, undefined);
    });

    it("refuses a malformed list of its own before any resource, saying how to start afresh", async () => {
        const registered: string[] = [];
        await assert.rejects(up(commitB, { keptReleases: { releases: [{ buildKey: "nope" }], built: "" } }, "3", registered),
            /entry 0 of the stack's keptReleases output is not a kept release .*: run one `pulumi up` with holodeck:keepReleases 0 to start the list afresh/);
        assert.deepEqual(registered, [`pulumi:pulumi:StackReference::${self}`]);
    });
});
