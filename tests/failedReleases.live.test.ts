// Issue 14, item 2, live on the docker substrate with the real engine: a failed release changes
// nothing. From a good release A, four bad commits each fail `pulumi up` at their own gate (health,
// functional checks, build, the .deb's sha256 at install) while a load loop through the balancer
// sees only A and no failed request, and A's servers stay the very same containers; then a good
// commit B goes up with no manual cleanup and leaves nothing of the failed ones on the master.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { releaseName } from "../components/appServers";
import { releasePillarPath } from "../lib/salt";
import { sampleAppDir } from "../tools/localRelease";
import { longestMs, startLoad } from "../tools/loadClient";
import { inside } from "../tools/serverContainer";
import { commitChange, get, LiveStack, sampleVersion } from "./liveStack";

const storeReleases = "/var/lib/holodeck-store/releases";
const appPy = "src/holodeck_hello/app.py";

describe("a failed release changes nothing (the local stack, live)", function () {
    // Each `up` builds or boots servers and runs Salt in them: minutes.
    this.timeout(1_200_000);
    let live: LiveStack;
    let outputsA: Record<string, unknown>;
    let serversA: string[];
    const logs = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-failing-"));
    const balancerHealth = () => `http://${String(outputsA.loadBalancerAddress)}/health`;
    const store = () => live.named(/^artifacts-/)[0];

    /**
     * Runs `pulumi up` of `commit` under a load loop; it must fail and say `expected`. Whatever failed,
     * the balancer served only A, with no failed request, and A's servers are the same containers.
     */
    async function failingUp(what: string, commit: string, expected: RegExp[], before?: () => Promise<void>): Promise<void> {
        live.configure(commit);
        if (before) await before();
        const load = startLoad(balancerHealth());
        const started = Date.now();
        const done = await live.pulumi("up", "--yes", "--skip-preview");
        const samples = await load.stop();
        const output = `${done.stdout}${done.stderr}`;
        fs.writeFileSync(path.join(logs, `${what}.log`), output);
        console.error(`failed releases: the up of ${what} failed after ${((Date.now() - started) / 1000).toFixed(0)} s; `
            + `${samples.length} requests through the balancer meanwhile, longest ${longestMs(samples)} ms`);
        assert.notEqual(done.status, 0, `the up of ${what} succeeded:\n${output}`);
        for (const pattern of expected) assert.match(output, pattern, `the up of ${what} does not say ${pattern} (its output: ${path.join(logs, `${what}.log`)})`);
        const wrong = samples.filter((sample) => sample.status !== 200 || sample.version !== "1.0.0" || sample.release !== outputsA.releaseId);
        assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} of ${samples.length} requests failed or were not answered by A during the up of ${what}`);
        assert.ok(samples.length > 0);
        assert.deepEqual(live.appServers().filter((line) => serversA.includes(line)), serversA, `A's app servers are not all the same running containers after the up of ${what}`);
    }

    before(async function () {
        // Its own stack and network: it runs beside tests/localStack.live.test.ts and a demo stack.
        // Failures come fast: the sample's checks as they are, but retried for 20 s rather than 120 s.
        const checkFile = path.join(logs, "holodeck-checks.yaml");
        const checks = fs.readFileSync(path.join(sampleAppDir, "holodeck-checks.yaml"), "utf8");
        fs.writeFileSync(checkFile, checks.replace(/^deadlineSeconds: \d+$/m, "deadlineSeconds: 20"));
        assert.match(fs.readFileSync(checkFile, "utf8"), /^deadlineSeconds: 20$/m);
        // A gate shorter than the default, yet well above what boot and Salt take here while other
        // stacks run beside (90 s failed a good release then).
        live = await LiveStack.create("failing", "10.90.0.0/24", { "holodeck:healthTimeoutSeconds": "180", "holodeck:checkFile": checkFile });
    });

    after(async function () {
        await live?.remove();
    });

    it("up of a good release A", async function () {
        await live.pulumiOk("up", "--yes", "--skip-preview");
        outputsA = await live.outputs();
        assert.equal(outputsA.verified, true);
        serversA = live.appServers();
        assert.equal(serversA.length, 2);
        const answer = await get(balancerHealth());
        assert.deepEqual([answer.status, JSON.parse(answer.body).version, answer.release], [200, "1.0.0", outputsA.releaseId]);
    });

    it("a release whose .deb in the store is not the one built fails at install: nothing is installed, the health gate fails", async function () {
        const commit = commitChange(live.repo, live.commitA, "deb-swapped", { "pyproject.toml": sampleVersion("1.0.5") });
        const inStore = async () => (await inside(store(), "ls", storeReleases)).trim().split("\n").filter(Boolean);
        let serversBefore: string[] = [];
        await failingUp("deb-swapped", commit, [
            /app-health-gate/, /health gate: http:\/\/10\.90\.0\.\d+:8000\/health did not report version 1\.0\.5/,
            // The gate shows why, from the server's Salt run: the check of the .deb before dpkg reads it.
            /health gate: what failed in the last Salt run of holodeck-hello-failing-[0-9a-f]{12}-\d:/, /ID: holodeck-verify/, /computed checksum did NOT match/,
        ], async () => {
            // The build alone first (it publishes the .deb and the manifest with its sha256), then the
            // object is swapped in the store for A's .deb (a real package of the app, the download
            // URL unchanged), and the full up installs from the store with the built sha256 in the
            // pillar. First among the failures: `--target` refuses to run while a failed up's
            // replaced resources wait for deletion.
            const stored = await inStore();
            const build = (await live.deployment()).resources.find((resource) => resource.urn.endsWith("::build-minion-build") && !resource.delete)!.urn;
            await live.pulumiOk("up", "--yes", "--skip-preview", "--target", build);
            // The build publishes the .deb and its manifest beside it: the .deb is what servers fetch.
            const added = (await inStore()).filter((file) => !stored.includes(file) && file.endsWith(".deb"));
            assert.equal(added.length, 1, `the build published ${JSON.stringify(added)}`);
            assert.match(added[0], /1\.0\.5/);
            const debA = stored.find((file) => file.includes("1.0.0") && file.endsWith(".deb"));
            assert.ok(debA, `A's .deb is not in the store: ${JSON.stringify(stored)}`);
            await inside(store(), "sh", "-c", `cat ${storeReleases}/${debA} > ${storeReleases}/${added[0]}`);
            serversBefore = live.appServers();
        });
        // The new servers fetched the swapped bytes and installed nothing: the sha256 check stopped it.
        const fresh = live.appServers().filter((line) => !serversBefore.includes(line)).map((line) => line.split(" ")[1]);
        assert.equal(fresh.length, 2, "the up did not boot the release's servers");
        for (const server of fresh) {
            await assert.rejects(inside(server, "dpkg-query", "-W", "holodeck-hello"), /no packages found matching holodeck-hello/);
        }
    });

    it("a release whose /health never reports its version fails at the health gate, naming the server's URL", async function () {
        const commit = commitChange(live.repo, live.commitA, "health-lies", {
            "pyproject.toml": sampleVersion("1.0.2"),
            [appPy]: (text) => text.replace('{"status": "ok", "version": VERSION}', '{"status": "ok", "version": "0.0.0"}'),
        });
        await failingUp("health-lies", commit, [
            /app-health-gate/,
            /health gate: http:\/\/10\.90\.0\.\d+:8000\/health did not report version 1\.0\.2 within 180 s; last answer: \{"status": "ok", "version": "0\.0\.0"\}/,
            /health gate: the last Salt run of holodeck-hello-failing-[0-9a-f]{12}-\d failed no state/,
        ]);
    });

    it("a release whose functional checks fail fails at the checks on the servers, naming the check and the target", async function () {
        const commit = commitChange(live.repo, live.commitA, "checks-fail", {
            "pyproject.toml": sampleVersion("1.0.3"),
            [appPy]: (text) => text.replace('f"no route for {path}"', 'f"nothing at {path}"'),
        });
        await failingUp("checks-fail", commit, [/checks-servers/, /unknown paths are 404/, /http:\/\/10\.90\.0\.\d+:8000/]);
    });

    it("a release whose build fails fails at the build, with holodeck-build's error", async function () {
        const commit = commitChange(live.repo, live.commitA, "build-fails", {
            "pyproject.toml": (text) => sampleVersion("1.0.4")(text).replace('requires-python = ">=3.9"', 'requires-python = ">=3.9'),
        });
        await failingUp("build-fails", commit, [/build-minion-build/, /holodeck-build/]);
    });

    it("the next up of a good commit B succeeds with no manual cleanup: nothing pending, only B's keys and pillar on the master", async function () {
        const commitB = commitChange(live.repo, live.commitA, "good-b", { "pyproject.toml": sampleVersion("1.0.1") });
        live.configure(commitB);
        await live.pulumiOk("up", "--yes", "--skip-preview");
        const outputs = await live.outputs();
        assert.equal(outputs.verified, true);
        const answer = await get(balancerHealth());
        assert.deepEqual([answer.status, JSON.parse(answer.body).version, answer.release], [200, "1.0.1", outputs.releaseId]);
        const deployment = await live.deployment();
        assert.deepEqual(deployment.pending_operations ?? [], []);
        assert.deepEqual(deployment.resources.filter((resource) => resource.delete).map((resource) => resource.urn), []);
        assert.deepEqual(await live.masterKeys(), { minions: [...(outputs.minionIds as string[])].sort(), minions_pre: [], minions_rejected: [], minions_denied: [] });
        const pillar = path.basename(releasePillarPath(releaseName(String((outputs.artifact as { packageName: string }).packageName), live.stack, String(outputs.releaseId))));
        assert.deepEqual((await inside(live.master(), "ls", "/srv/pillar/releases")).trim().split("\n"), [pillar]);
        const servers = live.appServers();
        assert.equal(servers.length, 2);
        assert.deepEqual(servers.filter((line) => serversA.includes(line)), []);
    });

    it("destroy leaves nothing of the stack", async function () {
        await live.pulumiOk("destroy", "--yes", "--skip-preview");
        assert.deepEqual(live.containers(true), []);
        assert.equal(live.networks(), "");
    });
});
