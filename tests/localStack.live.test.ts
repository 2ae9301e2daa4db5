// The whole chain for real on this machine (issue 13): the program's local stack on the docker
// substrate, under the real engine with the plugins built here. A commit becomes a .deb on the build
// minion, the Salt master installs it with the stack's config on fresh servers behind the health
// gate and the functional checks, the balancer switches to them, and a new commit replaces them.
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { runChecks } from "../checker/run";
import { loadSpec } from "../checker/spec";
import { dockerClient } from "../tools/docker";
import { run, sampleAppDir } from "../tools/localRelease";
import { longestMs, startLoad } from "../tools/loadClient";
import { inside } from "../tools/serverContainer";
import { commitChange, get, LiveStack, sampleVersion } from "./liveStack";
import { EngineEvent, previewSteps } from "./realEngine";

const greeting = "Hello from the live test";

describe("the local stack: the whole chain on this machine's Docker engine", function () {
    // Each `up` builds, boots servers and runs Salt in them: minutes.
    this.timeout(1_200_000);
    let live: LiveStack;
    let outputs: Record<string, unknown>;
    let volumesBefore: string;
    const volumes = () => run(dockerClient, ["volume", "ls", "--quiet"]).trim();
    const balancerUrl = () => `http://${String(outputs.loadBalancerAddress)}`;
    const appServers = () => live.appServers().map((line) => line.split(" ")[1]);

    before(async function () {
        volumesBefore = volumes();
        // Its own stack name and network, so a `npm run demo` stack on this machine is left alone.
        live = await LiveStack.create("live", "10.89.0.0/24", { "holodeck:appConfig": { greeting } });
    });

    after(async function () {
        await live?.remove();
    });

    it("up of commit A: the balancer serves A, checks pass through it, Salt gave the config, the master holds exactly the seeded keys", async function () {
        const started = Date.now();
        await live.pulumiOk("up", "--yes", "--skip-preview");
        console.error(`local stack: up of commit A took ${((Date.now() - started) / 1000).toFixed(0)} s`);
        outputs = await live.outputs();
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
        assert.deepEqual(await live.masterKeys(), { minions: [...(outputs.minionIds as string[])].sort(), minions_pre: [], minions_rejected: [], minions_denied: [] });
        for (const server of servers) {
            const id = (await inside(server, "cat", "/etc/salt/minion_id")).trim();
            assert.equal(run(dockerClient, ["container", "inspect", "--format", '{{index .Config.Labels "io.holodeck.minion-id"}} {{index .Config.Labels "io.holodeck.release"}}', server]).trim(),
                `${id} ${String(outputs.releaseId)}`);
            assert.equal(await inside(live.master(), "cat", `/etc/salt/pki/master/minions/${id}`), await inside(server, "cat", "/etc/salt/pki/minion/minion.pub"));
        }
        assert.match(await inside(live.master(), "cat", "/etc/salt/master.d/holodeck.conf"), /^auto_accept: false$/m);
    });

    it("preview of commit B: the app servers and what is bound to the release are replaced; master, network, store and balancer stay", async function () {
        live.configure(commitChange(live.repo, live.commitA, "release-b", { "pyproject.toml": sampleVersion("1.0.1") }));
        const steps = previewSteps(await live.pulumiOk("preview", "--json"));
        const byOp = (...ops: string[]) => steps.filter((step) => ops.includes(step.op)).map((step) => step.resource).sort();
        assert.deepEqual(byOp("replace"), [
            "command:remote:Command::app-0-minion-key-seed", "command:remote:Command::app-1-minion-key-seed", "command:remote:Command::app-health-gate",
            "command:remote:Command::app-pillar", "command:remote:Command::balancer-switch", "command:remote:Command::build-minion-build",
            "command:remote:Command::checks-load-balancer", "command:remote:Command::checks-servers",
            "docker:index/container:Container::app-0", "docker:index/container:Container::app-1",
            "tls:index/privateKey:PrivateKey::app-0-minion-key", "tls:index/privateKey:PrivateKey::app-1-minion-key",
        ]);
        // Left alone: in the stack, and no step but "same" for them (the JSON preview may leave those out).
        const deployed = (await live.deployment()).resources.map(({ urn }) => { const [, , type, name] = urn.split("::"); return `${type.split("$").pop()}::${name}`; });
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
        const load = startLoad(`${balancerUrl()}/health`);
        const started = Date.now();
        // With --json the CLI prints the engine's events, one JSON object a line.
        const up = await live.pulumi("up", "--yes", "--skip-preview", "--json");
        const samples = await load.stop();
        assert.equal(up.status, 0, `${up.stdout}${up.stderr}`);
        const eventLog = up.stdout;
        console.error(`local stack: up of commit B took ${((Date.now() - started) / 1000).toFixed(0)} s`);
        outputs = await live.outputs();
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
        await live.pulumiOk("preview", "--expect-no-changes");
    });

    it("destroy leaves no container, network or volume of the stack (the server image is the machine's and stays)", async function () {
        await live.pulumiOk("destroy", "--yes", "--skip-preview");
        assert.deepEqual(live.containers(true), []);
        assert.equal(live.networks(), "");
        assert.equal(volumes(), volumesBefore);
        assert.notEqual(run(dockerClient, ["image", "ls", "--quiet", "holodeck/server:bookworm"]).trim(), "");
    });
});
