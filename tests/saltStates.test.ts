// The Salt state tree, rendered for the test and prod stacks the way Salt renders it, from the
// pillar the real program writes for each release.
import * as assert from "node:assert/strict";
import { minionId, releaseName } from "../components/appServers";
import { readStateTree, stateTreeScript } from "../components/saltStateTree";
import { runOffline, reveal } from "../lib/offlineRun";
import { releasePillarPath, renderReleasePillar, statePillarKeys } from "../lib/salt";
import { projectName, promotionStandIn, stackConfig } from "../lib/stackFiles";
import { pillarData, renderSalt } from "../lib/saltRender";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

type Program = () => Promise<Record<string, unknown>>;
type State = Record<string, Record<string, Record<string, unknown>[]>>;
const commit = "3f786850e387550fdab836ed7e6dc881de23001b";

/** The pillar text the program sends to the master for `stack`'s release, and the release's minion id. */
async function releasePillar(program: Program, stack: "test" | "prod"): Promise<{ pillar: string; minion: string }> {
    const config = { ...stackConfig(stack), "holodeck:commit": commit };
    const cloud = stack === "prod" ? promotionStandIn(config, commit) : {};
    const run = await runOffline(program, { project: projectName(), stack, config: stack === "prod" ? stackConfig(stack) : config, cloud });
    const pillarCommand = run.resources.find((resource) => resource.name === "app-pillar");
    const minions = reveal(run.outputs.minionIds) as string[];
    return { pillar: String(reveal(pillarCommand?.inputs.stdin)), minion: minions[0] };
}

/** One state's arguments, merged from Salt's list-of-maps form. */
function args(state: State, id: string, fn: string): Record<string, unknown> {
    const declaration = state[id]?.[fn];
    assert.ok(Array.isArray(declaration), `state ${id} has ${fn}`);
    return Object.assign({}, ...(declaration as Record<string, unknown>[]));
}

describe("the Salt state tree", function () {
    const pillars: Record<string, { pillar: string; minion: string }> = {};
    before(async () => {
        const program = (await import("../index")).default as Program;
        pillars.test = await releasePillar(program, "test");
        pillars.prod = await releasePillar(program, "prod");
    });

    it("sends app servers (grains role app, and an app) to the holodeck state", () => {
        assert.deepEqual(renderSalt("states/top.sls", {}).data, { base: { "G@role:app and G@app:*": [{ match: "compound" }, "holodeck"] } });
    });

    it("shows each minion its own release's pillar, found from its authenticated id", () => {
        for (const app of ["holodeck-hello", "my.app"]) {
            const id = minionId(app, "test", "0123456789ab", 1);
            const top = renderSalt("pillar/top.sls", { opts: { id } }).data as { base: Record<string, string[]> };
            const release = releaseName(app, "test", "0123456789ab");
            assert.deepEqual(top, { base: { [id]: [`releases.${release.replace(/\./g, "_")}`] } });
            assert.equal(releasePillarPath(release), `/srv/pillar/${top.base[id][0].replace(/\./g, "/")}.sls`);
        }
    });

    for (const stack of ["test", "prod"] as const) {
        it(`${stack}: downloads the release's exact URL, verifies its sha256, installs, configures, then runs the service`, () => {
            const { pillar, minion } = pillars[stack];
            const data = pillarData(pillar) as { holodeck: { app: string; release: Record<string, string> } };
            assert.ok(minion.startsWith(releaseName(data.holodeck.app, stack, data.holodeck.release.id)));
            const state = renderSalt("states/holodeck/init.sls", { pillar: data }).data as State;
            assert.deepEqual(Object.keys(state), ["holodeck-download", "holodeck-verify", "holodeck-install", "holodeck-config", "holodeck-service"]);
            const deb = `/var/cache/holodeck/${data.holodeck.release.file}`;
            const download = args(state, "holodeck-download", "file.managed");
            assert.equal(download.name, deb);
            assert.equal(download.source, data.holodeck.release.url);
            assert.equal(download.source_hash, `sha256=${data.holodeck.release.sha256}`);
            assert.equal(args(state, "holodeck-verify", "cmd.run").name, `echo '${data.holodeck.release.sha256}  ${deb}' | sha256sum --check --strict`);
            assert.deepEqual(args(state, "holodeck-install", "pkg.installed").sources, [{ [data.holodeck.app]: deb }]);
            const config = args(state, "holodeck-config", "file.managed");
            assert.deepEqual([config.name, config.user, config.group, config.mode], [`/etc/holodeck/${data.holodeck.app}/config.ini`, "root", data.holodeck.app, "0640"]);
            const service = args(state, "holodeck-service", "service.running");
            assert.deepEqual([service.name, service.enable], [data.holodeck.app, true]);
            // Each step requires the one before it: download -> verify -> install -> config -> service.
            assert.deepEqual(args(state, "holodeck-verify", "cmd.run").require, [{ file: "holodeck-download" }]);
            assert.deepEqual(args(state, "holodeck-install", "pkg.installed").require, [{ cmd: "holodeck-verify" }]);
            assert.deepEqual(config.require, [{ pkg: "holodeck-install" }]);
            assert.deepEqual(service.require, [{ file: "holodeck-config" }]);
            assert.deepEqual(service.watch, [{ pkg: "holodeck-install" }, { file: "holodeck-config" }]);
        });
    }

    it("renders test and prod configs that differ only where their stack configs differ", () => {
        const [test, prod] = (["test", "prod"] as const).map((stack) =>
            renderSalt("states/holodeck/config.ini.jinja", { pillar: pillarData(pillars[stack].pillar) }).text.split("\n"));
        assert.equal(test.length, prod.length);
        const differing = test.map((line, index) => [line, prod[index]]).filter(([a, b]) => a !== b);
        assert.deepEqual(differing, [["greeting = Hello from the test stack", "greeting = Hello from production"]]);
    });

    it("puts secrets in [secrets], and nothing from the pillar but settings", () => {
        const text = renderReleasePillar({
            app: "holodeck-hello", releaseId: "0123456789ab", version: "1.0.0", sha256: "ab".repeat(32), url: "https://swift/x.deb?sig",
            config: { greeting: "yes", workers: "4" }, secrets: { api_token: "t0ps3cret" },
        });
        const config = renderSalt("states/holodeck/config.ini.jinja", { pillar: pillarData(text) }).text;
        assert.equal(config, [
            "# Rendered by Salt from Holodeck's pillar for this release; edits are overwritten.",
            "[app]", "greeting = yes", "workers = 4", "", "[secrets]", "api_token = t0ps3cret", "",
        ].join("\n"));
    });

    it("reads no pillar key the program does not provide", () => {
        const tree = readStateTree();
        const read = new Set<string>();
        for (const text of Object.values(tree)) {
            for (const match of text.matchAll(/(holodeck|release)\['(\w+)'\](?:\['(\w+)'\])?/g)) {
                const [, root, key, sub] = match;
                if (root === "release") read.add(`holodeck:release:${key}`);
                else if (key !== "release") read.add(`holodeck:${key}`);
                else if (sub) read.add(`holodeck:release:${sub}`);
            }
        }
        const provided = new Set<string>(statePillarKeys);
        assert.deepEqual([...read].filter((key) => !provided.has(key)), []);
        const pillar = pillarData(pillars.test.pillar) as Record<string, Record<string, unknown>>;
        for (const key of statePillarKeys) {
            const value = key.split(":").reduce<unknown>((node, part) => (node as Record<string, unknown>)?.[part], pillar);
            assert.notEqual(value, undefined, `the program's pillar has ${key}`);
        }
    });

    it("is installed on the master by a script that replaces the tree and keeps the releases' pillars", () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-master-"));
        try {
            fs.mkdirSync(path.join(root, "srv/salt/old"), { recursive: true });
            fs.writeFileSync(path.join(root, "srv/salt/old/init.sls"), "stale: state\n");
            fs.mkdirSync(path.join(root, "srv/pillar/releases"), { recursive: true });
            fs.writeFileSync(path.join(root, "srv/pillar/releases/app-test-0123456789ab.sls"), "holodeck: {}\n");
            const tree = readStateTree();
            const result = spawnSync("bash", ["-c", stateTreeScript(tree, root, "root")], { encoding: "utf8" });
            assert.equal(result.status, 0, result.stderr);
            assert.equal(fs.existsSync(path.join(root, "srv/salt/old")), false, "a state removed from the repository goes");
            assert.ok(fs.existsSync(path.join(root, "srv/pillar/releases/app-test-0123456789ab.sls")), "a release's pillar stays");
            for (const [file, content] of Object.entries(tree)) {
                const target = path.join(root, file.startsWith("states/") ? `srv/salt/${file.slice(7)}` : `srv/${file}`);
                assert.equal(fs.readFileSync(target, "utf8"), content, `${file} arrives byte for byte`);
                assert.equal(fs.statSync(target).mode & 0o777, 0o640);
            }
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
    });
});
