// The holodeck state applied for real: the repository's Salt (the virtualenv scripts/salt-venv.sh
// makes) runs `salt-call --local state.apply holodeck` in a Debian 12 container, on the sample
// app's .deb built by HoloMaker and served over loopback HTTP at a signed-looking URL, with the
// pillar the program writes. The container has no systemd, so the one state that needs it
// (holodeck-service) is left out with Salt's own `exclude`; nothing else differs from a server.
// Needs a Docker engine; without one the suite is skipped, loudly.
import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { minionId } from "../components/appServers";
import { saltDir } from "../lib/repoFiles";
import { defaultBaseImage, dockerClient, ensureBaseImage, skipWithoutDocker } from "../tools/docker";
import { Manifest } from "../lib/holoMaker";
import { buildRelease, commitDirectory, debianWheels, run, runAsync, sampleAppDir } from "../tools/localRelease";
import { renderReleasePillar, stateDefaults } from "../lib/salt";
import { LocalMinion, saltVenv } from "../tools/saltRender";

// Not the demo's or the Docker test's package name: nothing else installs this one.
const app = "holodeck-hello-salt";
// Containers and the cached image carry this prefix, so a leftover is easy to find and remove.
const prefix = "holodeck-salt2-apply";
const signature = "SECRETSIG0123456789abcdef";
// Jinja's three openers, in config and secrets: the pillar is YAML only, the values are data.
const config = { greeting: "Hello {{ name }}", note: "{# not a comment #}", template: "{% if x %}y{% endif %}" };
const secrets = { api_token: "s3{{cr}}e{%t%}{#x" };

/**
 * The base image plus what salt-call needs from Debian (python3, whose 3.11 runs the host's Salt
 * virtualenv mounted at its own path) and the state's curl. Tagged by its content and the base
 * image's id, so it is built once.
 */
function testImage(): string {
    const dockerfile = [
        `FROM ${defaultBaseImage}`,
        "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 curl && apt-get clean",
        "",
    ].join("\n");
    const base = run(dockerClient, ["image", "inspect", "--format", "{{.Id}}", defaultBaseImage]).trim();
    const tag = `${prefix}:${createHash("sha256").update(`${base}\n${dockerfile}`).digest("hex").slice(0, 12)}`;
    if (run(dockerClient, ["image", "ls", "--quiet", tag]).trim() === "") {
        const scratch = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
        try {
            fs.writeFileSync(path.join(scratch, "Dockerfile"), dockerfile);
            run(dockerClient, ["build", "--quiet", "--tag", tag, scratch]);
        } finally {
            fs.rmSync(scratch, { recursive: true, force: true });
        }
    }
    return tag;
}

/** Every path under `dir` whose name, or whose bytes if a file, contain `needle` (a cached download is named after its URL). */
function filesContaining(dir: string, needle: string): string[] {
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
        .map((entry) => ({ entry, file: path.join(entry.parentPath, entry.name) }))
        .filter(({ entry, file }) => file.includes(needle) || (entry.isFile() && fs.readFileSync(file).includes(needle)))
        .map(({ file }) => file);
}

/** A loopback server answering every GET with `status`, the .deb's bytes when 200; records the request URLs. */
async function serve(status: number, body: Buffer): Promise<{ port: number; requests: string[]; close: () => Promise<void> }> {
    const requests: string[] = [];
    const server = http.createServer((request, response) => {
        requests.push(request.url ?? "");
        response.writeHead(status, { "content-type": status === 200 ? "application/vnd.debian.binary-package" : "text/plain" });
        response.end(status === 200 ? body : `status ${status}\n`);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    return { port, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

interface Applied {
    readonly status: number | null;
    readonly output: string;
    /** Salt's JSON return by state id (the part of the key after the id's "_|-"). */
    readonly states: Record<string, { result: boolean; comment: string; changes: Record<string, unknown> }>;
    readonly minion: LocalMinion;
}

describe("state.apply of the holodeck state, for real in a Debian 12 container", function () {
    this.timeout(300_000);
    let scratch: string;
    let manifest: Manifest;
    let debBytes: Buffer;
    let container: string;
    const cleanups: (() => void | Promise<void>)[] = [];

    const inContainer = (script: string) => run(dockerClient, ["exec", container, "sh", "-c", script]);

    /** Applies the holodeck state in the container for a release of `sha256` served at `url`. */
    async function apply(releaseId: string, sha256: string, url: string): Promise<Applied> {
        const pillarText = renderReleasePillar({ app, releaseId, version: manifest.version, sha256, url, config, secrets });
        // Under scratch, mounted at the same path: the minion's config names host paths.
        const minion = new LocalMinion({
            minionId: minionId(app, "test", releaseId, 0), pillarText, grains: { role: "app", app },
            root: fs.mkdtempSync(path.join(scratch, "minion-")),
        });
        const result = await runAsync(dockerClient, [
            "exec", container, path.join(saltVenv(), "bin", "salt-call"), "--local", "-c", minion.configDir, "--retcode-passthrough",
            // Every log level ("all", below trace and garbage) on the console and in the log file: a
            // leak at whatever level a minion is set to shows.
            "-l", "all", "--log-file-level", "all", "--out", "json",
            "state.apply", "holodeck", 'exclude=[{"id": "holodeck-service"}]',
        ]);
        const output = result.stdout + result.stderr;
        // Salt's JSON return on stdout (its log lines go to stderr): states by id, or a list of
        // errors when nothing ran (a pillar that fails to render); the assertions show `output`.
        let states: Applied["states"] = {};
        try {
            const local = (JSON.parse(result.stdout) as { local: Record<string, Applied["states"][string]> | string[] }).local;
            if (!Array.isArray(local)) states = Object.fromEntries(Object.entries(local).map(([key, value]) => [key.split("_|-")[1], value]));
        } catch {
            // Not JSON: salt-call failed before its outputter ran.
        }
        return { status: result.status, output, states, minion };
    }

    before(async function () {
        skipWithoutDocker(this, "the Salt state.apply tests");
        ensureBaseImage("inherit");
        const image = testImage();
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
        cleanups.push(() => fs.rmSync(scratch, { recursive: true, force: true }));
        const repo = path.join(scratch, "repo");
        const commit = commitDirectory(sampleAppDir, repo);
        manifest = buildRelease(["--repo", repo, "--commit", commit, "--out", path.join(scratch, "out"), "--name", app, "--find-links", debianWheels,
            // A service, as every release has: the package then brings its user and group.
            "--service", "holodeck-hello --host 127.0.0.1 --port 8000"]);
        debBytes = fs.readFileSync(path.join(scratch, "out", manifest.file));
        const venv = saltVenv();
        container = run(dockerClient, [
            "run", "--detach", "--name", `${prefix}-${process.pid}`, "--network", "host",
            "--volume", `${venv}:${venv}:ro`, "--volume", `${saltDir}:${saltDir}:ro`, "--volume", `${scratch}:${scratch}`,
            image, "sleep", "infinity",
        ]).trim();
        cleanups.push(() => void run(dockerClient, ["container", "rm", "--force", container]));
    });

    after(async function () {
        const failures: unknown[] = [];
        for (const cleanup of cleanups.reverse()) await Promise.resolve().then(cleanup).catch((error) => failures.push(error));
        if (failures.length) throw failures[0];
    });

    it("downloads the release from its signed URL, installs it and writes its config byte for byte, root:app 0640", async () => {
        const server = await serve(200, debBytes);
        const releaseId = manifest.sha256.slice(0, 12);
        const url = `http://127.0.0.1:${server.port}/v1/AUTH_x/releases/${manifest.file}?temp_url_sig=${signature}&temp_url_expires=1893456000`;
        let applied: Applied;
        try {
            applied = await apply(releaseId, manifest.sha256, url);
        } finally {
            await server.close();
        }
        assert.equal(applied.status, 0, applied.output);
        assert.deepEqual(server.requests, [url.slice(url.indexOf("/v1/"))], "curl asked for the exact signed URL");
        assert.deepEqual(Object.keys(applied.states).sort(),
            ["holodeck-config", "holodeck-download", "holodeck-download-config", "holodeck-install", "holodeck-verify"]);
        for (const [id, state] of Object.entries(applied.states)) assert.equal(state.result, true, `${id}: ${state.comment}`);

        assert.equal(inContainer(`dpkg-query -W -f '\${db:Status-Status} \${Version}' ${app}`), `installed ${manifest.version}`);
        const paths = stateDefaults(app);
        assert.equal(inContainer(`cat ${paths.config_file}`), [
            "# Rendered by Salt from Holodeck's pillar for this release; edits are overwritten.",
            "[app]",
            "greeting = Hello {{ name }}",
            "note = {# not a comment #}",
            "template = {% if x %}y{% endif %}",
            "",
            "[secrets]",
            "api_token = s3{{cr}}e{%t%}{#x",
            "",
        ].join("\n"));
        assert.equal(inContainer(`stat -c '%U:%G %a' ${paths.config_file}`).trim(), `root:${app} 640`);
        // What the service would run: the package's own console script, reading that file.
        assert.match(inContainer(`ls -l ${manifest.prefix}/bin/holodeck-hello`), /holodeck-hello$/m);

        assert.ok(!applied.output.includes(signature), "salt-call's output holds no signature");
        assert.deepEqual(filesContaining(path.join(applied.minion.root, "var"), signature), [], "nor the minion's cache and log");
        assert.equal(inContainer(`find /run /tmp /var/cache -path '*${signature}*' -not -path '${scratch}/*'`), "", "no copy named after the URL");
        assert.equal(inContainer(`test -e ${paths.curl_config} && echo left || echo removed`).trim(), "removed", "curl's config is removed after use");

        // Applied again (a minion's next run): the verified .deb is there, nothing is fetched, and
        // curl's config is not even written.
        const again = await serve(500, Buffer.alloc(0));
        let reapplied: Applied;
        try {
            reapplied = await apply(releaseId, manifest.sha256, url.replace(/:\d+\//, `:${again.port}/`));
        } finally {
            await again.close();
        }
        assert.equal(reapplied.status, 0, reapplied.output);
        assert.deepEqual(again.requests, []);
        assert.match(reapplied.states["holodeck-download-config"]?.comment ?? "", /unless condition is true/);
        assert.equal(inContainer(`test -e ${paths.curl_config} && echo left || echo removed`).trim(), "removed", "curl's config is not written when nothing is fetched");
    });

    for (const status of [403, 404]) {
        it(`fails on a ${status} naming the release and the failure, and the signature is nowhere`, async () => {
            const server = await serve(status, Buffer.alloc(0));
            // A release that is not installed: its download runs.
            const sha256 = createHash("sha256").update(`release answered ${status}`).digest("hex");
            const releaseId = sha256.slice(0, 12);
            const url = `http://127.0.0.1:${server.port}/v1/AUTH_x/releases/${app}_${releaseId}.deb?temp_url_sig=${signature}&temp_url_expires=1893456000`;
            let applied: Applied;
            try {
                applied = await apply(releaseId, sha256, url);
            } finally {
                await server.close();
            }
            assert.notEqual(applied.status, 0, applied.output);
            assert.equal(server.requests.length, 1, "asked once: a 4xx is not retried");
            const download = applied.states["holodeck-download"];
            assert.equal(download?.result, false, applied.output);
            const said = JSON.stringify(download);
            assert.ok(said.includes(`downloading release ${releaseId} of ${app} failed`), said);
            assert.ok(said.includes(`returned error: ${status}`), said);
            for (const later of ["holodeck-verify", "holodeck-install", "holodeck-config"]) assert.equal(applied.states[later]?.result, false, `${later} does not run`);

            assert.ok(!applied.output.includes(signature), `salt-call's output holds no signature:\n${applied.output}`);
            const leaked = filesContaining(path.join(applied.minion.root, "var"), signature);
            assert.deepEqual(leaked, [], "nor the minion's cache and log file");
            const paths = stateDefaults(app);
            assert.equal(inContainer(`test -e ${paths.curl_config} && echo left || echo removed`).trim(), "removed", "curl's config is removed after a failure too");
            // Nor anything the state leaves on the server (the pillar, mounted from scratch, aside).
            assert.equal(inContainer(`grep -rl --exclude-dir=${path.basename(scratch)} ${signature} /run /tmp /var/cache/holodeck || true`), "");
            assert.equal(inContainer(`find /run /tmp /var/cache -path '*${signature}*' -not -path '${scratch}/*'`), "");
            assert.equal(inContainer(`ls -A /var/cache/holodeck | grep -F ${releaseId} || true`), "", "no part of the failed download is left");
        });
    }
});
