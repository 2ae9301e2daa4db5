// The Salt state tree, rendered by real Salt (salt-call --local) for the test and prod stacks, from
// the pillar the real program writes for each release.
import * as assert from "node:assert/strict";
import { minionId, releaseName } from "../components/appServers";
import { stateTreeScript } from "../components/saltStateTree";
import { readStateTree } from "../lib/repoFiles";
import { runOffline, reveal } from "../tools/offlineRun";
import { renderReleasePillar, stateDefaults, statePillarKeys } from "../lib/salt";
import { holodeckBuildCommand } from "../lib/holoMaker";
import { parse } from "yaml";
import { projectName, promotionStandIn, stackConfig } from "../tools/stackFiles";
import { LocalMinion, renderConfigIni } from "../tools/saltRender";
import { configPath } from "../lib/dockerImage";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** A release's pillar as Salt reads it (YAML 1.1). */
const pillarData = (text: string): unknown => parse(text, { version: "1.1" });

type Program = () => Promise<Record<string, unknown>>;
type State = Record<string, Record<string, unknown>>;
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

/** One state's arguments, merged from state.show_sls's list of maps, checking its function. */
function args(state: State, id: string, fn: string): Record<string, unknown> {
    const [module, name] = fn.split(".");
    const declaration = state[id]?.[module];
    assert.ok(Array.isArray(declaration) && declaration.includes(name as never), `state ${id} has ${fn}`);
    return Object.assign({}, ...declaration.filter((item) => typeof item === "object"));
}

const sample = {
    app: "holodeck-hello", releaseId: "0123456789ab", version: "1.0.0", sha256: "ab".repeat(32), url: "https://swift/x.deb?temp_url_sig=s",
    config: { greeting: "yes", workers: "4" }, secrets: { api_token: "t0ps3cret" },
};

describe("the Salt state tree", function () {
    this.timeout(120_000);
    const pillars: Record<string, { pillar: string; minion: string }> = {};
    const minions: Record<string, LocalMinion> = {};
    before(async () => {
        const program = (await import("../index")).default as Program;
        for (const stack of ["test", "prod"] as const) {
            pillars[stack] = await releasePillar(program, stack);
            const app = (pillarData(pillars[stack].pillar) as { holodeck: { app: string } }).holodeck.app;
            minions[stack] = new LocalMinion({ minionId: pillars[stack].minion, pillarText: pillars[stack].pillar, grains: { role: "app", app } });
        }
    });
    after(() => Object.values(minions).forEach((minion) => minion.close()));

    it("sends app servers (grains role app, and an app) to the holodeck state, and no other minion", () => {
        assert.deepEqual(minions.test.json(["state.show_top"]), { base: ["holodeck"] });
        const other = new LocalMinion({ minionId: minionId(sample.app, "test", sample.releaseId, 0), pillarText: renderReleasePillar(sample), grains: { role: "web", app: sample.app } });
        try {
            assert.deepEqual(other.json(["state.show_top"]), {});
        } finally {
            other.close();
        }
    });

    it("shows each minion its own release's pillar, found from its authenticated id", () => {
        for (const app of ["holodeck-hello", "my.app"]) {
            const text = renderReleasePillar({ ...sample, app });
            const own = new LocalMinion({ minionId: minionId(app, "test", "0123456789ab", 1), pillarText: text });
            const stranger = new LocalMinion({ minionId: minionId(app, "test", "0123456789ac", 1) });
            try {
                assert.deepEqual(own.pillar(), pillarData(text));
                // The file is at the path the program writes (releasePillarPath), found by the id alone.
                fs.cpSync(path.join(own.root, "pillar"), path.join(stranger.root, "pillar"), { recursive: true });
                assert.equal(stranger.pillar().holodeck, undefined);
            } finally {
                own.close();
                stranger.close();
            }
        }
    });

    it("reads release pillars as YAML only: Jinja syntax in values is data", () => {
        const text = renderReleasePillar({ ...sample, config: { a: "{{ 7 * 7 }}", b: "{% raw %}", c: "{# x" } });
        assert.match(text, /^#!yaml\n/);
        const minion = new LocalMinion({ minionId: minionId(sample.app, "test", sample.releaseId, 0), pillarText: text });
        try {
            assert.deepEqual((minion.pillar().holodeck as { config: unknown }).config, { a: "{{ 7 * 7 }}", b: "{% raw %}", c: "{# x" });
            // Without the shebang line, Salt's default jinja|yaml renders the pillar: it fails.
            const jinja = new LocalMinion({ minionId: minionId(sample.app, "test", sample.releaseId, 0), pillarText: text.replace(/^#!yaml\n/, "") });
            try {
                assert.notDeepEqual((jinja.pillar().holodeck as { config: unknown } | undefined)?.config, { a: "{{ 7 * 7 }}", b: "{% raw %}", c: "{# x" });
            } catch (error) {
                assert.match(String(error), /Rendering SLS|jinja|Jinja/);
            } finally {
                jinja.close();
            }
        } finally {
            minion.close();
        }
    });

    for (const stack of ["test", "prod"] as const) {
        it(`${stack}: downloads the release's exact URL, verifies its sha256, installs, configures, then runs the service`, () => {
            const { pillar, minion } = pillars[stack];
            const data = pillarData(pillar) as { holodeck: { app: string; release: Record<string, string> } };
            assert.ok(minion.startsWith(releaseName(data.holodeck.app, stack, data.holodeck.release.id)));
            const state = minions[stack].json(["state.show_sls", "holodeck"]) as State;
            const ids = Object.entries(state).sort(([, a], [, b]) => Number(a.__run_num__) - Number(b.__run_num__)).map(([id]) => id);
            assert.deepEqual(ids, ["holodeck-download-config", "holodeck-download", "holodeck-verify", "holodeck-install", "holodeck-config", "holodeck-service"]);
            const paths = stateDefaults(data.holodeck.app);
            const deb = `${paths.download_dir}/${data.holodeck.release.file}`;
            // The signed URL is nowhere in the state's data (Salt caches it and prints it in errors).
            assert.doesNotMatch(JSON.stringify(state), /temp_url_sig|\?/);
            assert.equal(args(state, "holodeck-download-config", "file.managed").source, "salt://holodeck/download.curlrc.jinja");
            assert.match(String(args(state, "holodeck-download", "cmd.run").name), new RegExp(`--config ${paths.curl_config} -o ${deb}.part`));
            const checked = `echo '${data.holodeck.release.sha256}  ${deb}' | sha256sum --check --strict`;
            assert.equal(args(state, "holodeck-verify", "cmd.run").name, checked);
            assert.deepEqual(args(state, "holodeck-install", "pkg.installed").sources, [{ [data.holodeck.app]: deb }]);
            const config = args(state, "holodeck-config", "file.managed");
            assert.deepEqual([config.name, config.user, config.group, config.mode], [paths.config_file, "root", data.holodeck.app, paths.config_mode]);
            const service = args(state, "holodeck-service", "service.running");
            assert.deepEqual([service.name, service.enable], [data.holodeck.app, true]);
            // Each step requires the one before it: download -> verify -> install -> config -> service.
            assert.deepEqual(args(state, "holodeck-download", "cmd.run").require, [{ file: "holodeck-download-config" }]);
            assert.deepEqual(args(state, "holodeck-verify", "cmd.run").require, [{ cmd: "holodeck-download" }]);
            assert.deepEqual(args(state, "holodeck-install", "pkg.installed").require, [{ cmd: "holodeck-verify" }]);
            assert.deepEqual(config.require, [{ pkg: "holodeck-install" }]);
            assert.deepEqual(service.require, [{ file: "holodeck-config" }]);
            assert.deepEqual(service.watch, [{ pkg: "holodeck-install" }, { file: "holodeck-config" }]);
        });
    }

    it("renders test and prod configs that differ only where their stack configs differ", () => {
        const [test, prod] = (["test", "prod"] as const).map((stack) => minions[stack].renderTemplate("holodeck/config.ini.jinja").split("\n"));
        assert.equal(test.length, prod.length);
        const differing = test.map((line, index) => [line, prod[index]]).filter(([a, b]) => a !== b);
        assert.deepEqual(differing, [["greeting = Hello from the test stack", "greeting = Hello from production"]]);
    });

    it("puts secrets in [secrets], and nothing from the pillar but settings", () => {
        const config = renderConfigIni(sample);
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

describe("the config path, from the state tree's defaults.yaml", () => {
    it("is the one the program's build command, holodeck-build's unit and the Docker image give the service", () => {
        const app = "holodeck-hello";
        const file = stateDefaults(app).config_file;
        assert.equal(configPath(app), file);
        const build = {
            repo: "https://git.example.com/app.git", commit: "c0".repeat(20), subdir: "", packageName: "", prefix: "", python: "/usr/bin/python3",
            service: "app --port 8000", indexUrl: "", findLinks: [], withPip: false,
        };
        const command = holodeckBuildCommand(build, "holodeck-build", "/out");
        assert.match(command, / --config-file '\/etc\/holodeck\/\{app\}\/config\.ini'( |$)/);
        assert.equal(stateDefaults("{app}").config_file.replace("{app}", app), file);
        // holodeck-build spells no config path of its own: it writes the one it is given.
        const builder = fs.readFileSync(path.join(__dirname, "..", "builder", "holodeck-build"), "utf8");
        assert.doesNotMatch(builder, /\/etc\/holodeck/);
        assert.match(builder, /^Environment=HOLODECK_CONFIG=\$service_config$/m);
    });
});
