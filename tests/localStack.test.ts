// The whole chain for real on this machine (issue 13): the program's local stack on the docker
// substrate, under the real engine with the plugins built here. A commit becomes a .deb on the build
// minion, the Salt master installs it with the stack's config on fresh servers behind the health
// gate and the functional checks, the balancer switches to them, and a new commit replaces them.
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { runChecks } from "../checker/run";
import { loadSpec } from "../checker/spec";
import { stackLabel } from "../components/docker";
import { repoRoot } from "../lib/paths";
import { dockerClient, dockerUnavailable } from "../tools/docker";
import { commitDirectory, run, sampleAppDir } from "../tools/localRelease";
import { LoadSample, longestMs } from "../tools/loadClient";
import { inside, serverImage } from "../tools/serverContainer";
import { previewSteps, Workspace } from "./realEngine";

// Its own stack name and network, so a `npm run demo` stack on this machine is left alone.
const stack = "live";
const networkCidr = "10.89.0.0/24";
const greeting = "Hello from the live test";

/** Commits the sample app's next version in `repo` (a later fixed date: the same change always gives the same commit). */
function commitNextVersion(repo: string): string {
    const file = path.join(repo, "pyproject.toml");
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(/^version = "1\.0\.0"$/m, 'version = "1.0.1"'));
    const env = { ...process.env, GIT_AUTHOR_NAME: "Holodeck Sample", GIT_AUTHOR_EMAIL: "sample@holodeck.invalid", GIT_COMMITTER_NAME: "Holodeck Sample",
        GIT_COMMITTER_EMAIL: "sample@holodeck.invalid", GIT_AUTHOR_DATE: "2026-01-03T03:04:05Z", GIT_COMMITTER_DATE: "2026-01-03T03:04:05Z" };
    run("git", ["commit", "-q", "-am", "Sample release 1.0.1"], { cwd: repo, env });
    return run("git", ["rev-parse", "HEAD"], { cwd: repo }).trim();
}

/** What `pulumi up --json` prints, one JSON object a line (the parts read here). */
interface EngineEvent {
    readonly sequence: number;
    /** Unix time, whole seconds. */
    readonly timestamp: number;
    readonly resourcePreEvent?: { readonly metadata: { readonly urn: string; readonly op: string } };
    readonly resOutputsEvent?: { readonly metadata: { readonly urn: string; readonly op: string } };
}

/** The stack's containers, by name. */
function containers(): string[] {
    return run(dockerClient, ["ps", "--all", "--filter", `label=${stackLabel}=${stack}`, "--format", "{{.Names}}"]).trim().split("\n").filter(Boolean).sort();
}

function get(url: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const request = http.get(url, { agent: false, timeout: 5_000 }, (response) => {
            let body = "";
            response.setEncoding("utf8");
            response.on("data", (chunk: string) => (body += chunk));
            response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
        });
        request.on("timeout", () => request.destroy(new Error(`no answer from ${url} within 5 s`)));
        request.on("error", reject);
    });
}

describe("the local stack: the whole chain on this machine's Docker engine", function () {
    // Each `up` builds, boots servers and runs Salt in them: minutes.
    this.timeout(1_200_000);
    let workspace: Workspace;
    let project: string;
    let repo: string;
    let commitA: string;
    let outputs: Record<string, unknown>;
    let volumesBefore: string;
    const volumes = () => run(dockerClient, ["volume", "ls", "--quiet"]).trim();
    const config = (commit: string) => {
        const shipped = parse(fs.readFileSync(path.join(repoRoot, "Pulumi.local.yaml"), "utf8")).config as Record<string, unknown>;
        return { ...shipped, "holodeck:appRepo": repo, "holodeck:commit": commit, "holodeck:networkCidr": networkCidr, "holodeck:appConfig": { greeting } };
    };
    const pulumi = (...args: string[]) => workspace.pulumiOk(project, ...args, "--stack", stack);
    const readOutputs = async () => JSON.parse(await pulumi("stack", "output", "--json", "--show-secrets")) as Record<string, unknown>;
    const balancerUrl = () => `http://${String(outputs.loadBalancerAddress)}`;
    const master = () => containers().find((name) => name.startsWith("salt-master-"))!;
    const appServers = () => containers().filter((name) => /^app-\d+-/.test(name));

    before(async function () {
        const unavailable = dockerUnavailable();
        // Never skipped where Docker runs; without it, this fails and says why.
        if (unavailable) throw new Error(unavailable);
        await serverImage();
        assert.deepEqual(containers(), [], `containers of a stack "${stack}" are left from an earlier run: remove them (${dockerClient} rm -f)`);
        volumesBefore = volumes();
        workspace = new Workspace();
        repo = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-live-repo-"));
        commitA = commitDirectory(sampleAppDir, repo);
        project = await workspace.project("holodeck", repoRoot, { [stack]: config(commitA) });
    });

    after(async function () {
        if (!workspace) return;
        // Whatever failed: nothing of the stack stays on the machine.
        if (containers().length > 0) await workspace.pulumi(project, "destroy", "--yes", "--skip-preview", "--stack", stack);
        workspace.remove();
        fs.rmSync(repo, { recursive: true, force: true });
    });

    it("up of commit A: the balancer serves A, checks pass through it, Salt gave the config, the master holds exactly the seeded keys", async function () {
        const started = Date.now();
        await pulumi("up", "--yes", "--skip-preview");
        console.error(`local stack: up of commit A took ${((Date.now() - started) / 1000).toFixed(0)} s`);
        outputs = await readOutputs();
        assert.equal(outputs.verified, true);
        assert.deepEqual(JSON.parse((await get(`${balancerUrl()}/health`)).body), { status: "ok", version: "1.0.0" });
        const report = await runChecks(loadSpec(path.join(sampleAppDir, "holodeck-checks.yaml"), { VERSION: "1.0.0" }), [balancerUrl()], { deadlineSeconds: 30 });
        assert.ok(report.passed, JSON.stringify(report.results.filter((result) => !result.passed)));

        // The app's config.ini came from the stack's pillar through real Salt.
        const servers = appServers();
        assert.equal(servers.length, 2);
        for (const server of servers) {
            assert.match(await inside(server, "cat", "/etc/holodeck/holodeck-hello/config.ini"), new RegExp(`^greeting = ${greeting}$`, "m"));
        }
        // Accepted: exactly the minions the program seeded, with the keys the servers hold; none pending.
        const keys = JSON.parse(await inside(master(), "salt-key", "--list", "all", "--out", "json")) as Record<string, string[]>;
        assert.deepEqual(keys, { minions: [...(outputs.minionIds as string[])].sort(), minions_pre: [], minions_rejected: [], minions_denied: [] });
        for (const server of servers) {
            const id = (await inside(server, "cat", "/etc/salt/minion_id")).trim();
            assert.equal(run(dockerClient, ["container", "inspect", "--format", '{{index .Config.Labels "io.holodeck.minion-id"}} {{index .Config.Labels "io.holodeck.release"}}', server]).trim(),
                `${id} ${String(outputs.releaseId)}`);
            assert.equal(await inside(master(), "cat", `/etc/salt/pki/master/minions/${id}`), await inside(server, "cat", "/etc/salt/pki/minion/minion.pub"));
        }
        assert.match(await inside(master(), "cat", "/etc/salt/master.d/holodeck.conf"), /^auto_accept: false$/m);
    });

    it("preview of commit B: the app servers and what is bound to the release are replaced; master, network, store and balancer stay", async function () {
        workspace.configure(project, stack, config(commitNextVersion(repo)));
        const steps = previewSteps(await pulumi("preview", "--json"));
        const byOp = (...ops: string[]) => steps.filter((step) => ops.includes(step.op)).map((step) => step.resource).sort();
        assert.deepEqual(byOp("replace"), [
            "command:remote:Command::app-0-minion-key-seed", "command:remote:Command::app-1-minion-key-seed", "command:remote:Command::app-health-gate",
            "command:remote:Command::app-pillar", "command:remote:Command::balancer-switch", "command:remote:Command::build-minion-build",
            "command:remote:Command::checks-load-balancer", "command:remote:Command::checks-servers",
            "docker:index/container:Container::app-0", "docker:index/container:Container::app-1",
            "random:index/randomUuid:RandomUuid::app-0-instance", "random:index/randomUuid:RandomUuid::app-1-instance",
            "tls:index/privateKey:PrivateKey::app-0-minion-key", "tls:index/privateKey:PrivateKey::app-1-minion-key",
        ]);
        // Left alone: in the stack, and no step but "same" for them (the JSON preview may leave those out).
        const deployed = (JSON.parse(await pulumi("stack", "export")) as { deployment: { resources: { urn: string }[] } }).deployment.resources
            .map(({ urn }) => { const [, , type, name] = urn.split("::"); return `${type.split("$").pop()}::${name}`; });
        for (const kept of [
            "docker:index/container:Container::salt-master-host-server", "docker:index/container:Container::build-minion-host-server",
            "docker:index/container:Container::artifacts-host-server", "docker:index/container:Container::balancer-host-server",
            "docker:index/network:Network::net", "docker:index/remoteImage:RemoteImage::server-image", "tls:index/privateKey:PrivateKey::salt-master-key",
        ]) {
            assert.ok(deployed.includes(kept), `${kept} is not in the stack`);
            assert.deepEqual(steps.filter((step) => step.resource === kept && step.op !== "same"), [], `${kept} is not left alone`);
        }
        assert.deepEqual(byOp("create", "delete", "update"), []);
    });

    it("up of commit B: the balancer switches only after the gates, no request fails or reaches an unchecked server, the old containers go; a second up changes nothing", async function () {
        const before = appServers();
        const releaseA = String(outputs.releaseId);
        // The load loop is a process of its own, as a user's traffic is.
        const client = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(repoRoot, "tools", "loadClient.ts"), `${balancerUrl()}/health`, "4"], {
            cwd: repoRoot, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" }, stdio: ["ignore", "pipe", "inherit"],
        });
        let report = "";
        client.stdout.on("data", (chunk: Buffer) => (report += chunk.toString()));
        const reported = new Promise<void>((resolve) => client.on("close", () => resolve()));
        const started = Date.now();
        // With --json the CLI prints the engine's events, one JSON object a line.
        let eventLog: string;
        try {
            eventLog = await pulumi("up", "--yes", "--skip-preview", "--json");
        } finally {
            client.kill("SIGTERM");
            await reported;
        }
        console.error(`local stack: up of commit B took ${((Date.now() - started) / 1000).toFixed(0)} s`);
        outputs = await readOutputs();
        assert.equal(outputs.verified, true);
        const releaseB = String(outputs.releaseId);

        // The engine's own record: the switch began only after the new servers' gates had passed.
        const events = eventLog.trim().split("\n").map((line) => JSON.parse(line) as EngineEvent);
        const at = (kind: "resourcePreEvent" | "resOutputsEvent", name: string) => {
            const event = events.find((candidate) => candidate[kind]?.metadata.urn.endsWith(`::${name}`) && candidate[kind]?.metadata.op !== "same");
            assert.ok(event, `no ${kind} of ${name} in the event log`);
            return event;
        };
        const switchStart = at("resourcePreEvent", "balancer-switch");
        const switchEnd = at("resOutputsEvent", "balancer-switch");
        for (const gate of ["app-health-gate", "checks-servers"]) assert.ok(at("resOutputsEvent", gate).sequence < switchStart.sequence, `the switch began before ${gate} passed`);

        // The load loop's record: every request answered by A or B, B only once the switch began
        // (the log's times are whole seconds), A no more once it had ended.
        const samples = JSON.parse(report) as LoadSample[];
        const failed = samples.filter((sample) => sample.status !== 200 || ![releaseA, releaseB].includes(sample.release ?? ""));
        assert.deepEqual(failed.slice(0, 5), [], `${failed.length} of ${samples.length} requests failed or reached no release`);
        for (const sample of samples) assert.equal(sample.version, sample.release === releaseA ? "1.0.0" : "1.0.1", JSON.stringify(sample));
        const firstB = samples.filter((sample) => sample.release === releaseB).reduce((first, sample) => Math.min(first, sample.end), Infinity);
        assert.ok(firstB >= switchStart.timestamp * 1000, `a request was answered by B at ${firstB}, before the switch began (${switchStart.timestamp} s)`);
        const lateA = samples.filter((sample) => sample.release === releaseA && sample.start > (switchEnd.timestamp + 1) * 1000);
        assert.deepEqual(lateA.slice(0, 3), [], "A answered after the switch had ended");
        for (let id = 0; id < 4; id++) {
            const seen = samples.filter((sample) => sample.client === id).map((sample) => (sample.release === releaseA ? "A" : "B")).join("");
            assert.match(seen, /^A+B+$/, `client ${id} did not see A, then B, once`);
        }
        const during = samples.filter((sample) => sample.end >= switchStart.timestamp * 1000 && sample.start <= (switchEnd.timestamp + 1) * 1000);
        console.error(`local stack: ${samples.length} requests during the up of commit B, none failed; `
            + `longest ${longestMs(samples)} ms (${longestMs(during)} ms around the switch, ${during.length} requests)`);

        const after = appServers();
        assert.equal(after.length, 2);
        assert.deepEqual(after.filter((name) => before.includes(name)), [], "an old app server is still there");
        await pulumi("preview", "--expect-no-changes");
    });

    it("destroy leaves no container, network or volume of the stack (the server image is the machine's and stays)", async function () {
        await pulumi("destroy", "--yes", "--skip-preview");
        assert.deepEqual(containers(), []);
        assert.equal(run(dockerClient, ["network", "ls", "--filter", `label=${stackLabel}=${stack}`, "--quiet"]).trim(), "");
        assert.equal(volumes(), volumesBefore);
        assert.notEqual(run(dockerClient, ["image", "ls", "--quiet", "holodeck/server:bookworm"]).trim(), "");
    });
});
