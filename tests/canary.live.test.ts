// Issue 14, item 6, live on the docker substrate with the real engine: with holodeck:canary, a new
// release's first server passes its gates and serves its share beside the live release before
// the rest are made; a canary that fails under load stops the rollout, the old fleet serving.
import * as assert from "node:assert/strict";
import { LoadSample, longestMs, startLoad } from "../tools/loadClient";
import { commitChange, get, LiveStack, sampleVersion } from "./liveStack";
import { EngineEvent } from "./realEngine";

const appPy = "src/holodeck_hello/app.py";
// Two servers per release, one of them the canary: beside the two live ones it takes a third.
const canaryShare = 1 / 3;

/** Samples by start; those answered by `release`; the share of them among the samples from their first to their last. */
function shareOf(samples: readonly LoadSample[], release: string): { answered: LoadSample[]; share: number } {
    const answered = samples.filter((sample) => sample.release === release);
    const window = samples.filter((sample) => sample.start >= answered[0].start && sample.start <= answered[answered.length - 1].start);
    return { answered, share: answered.length / window.length };
}

describe("a canary before the rest of a release (the local stack, live)", function () {
    // Each `up` builds or boots servers and runs Salt in them: minutes.
    this.timeout(1_200_000);
    let live: LiveStack;
    let outputsB: Record<string, unknown>;
    const balancerHealth = (outputs: Record<string, unknown>) => `http://${String(outputs.loadBalancerAddress)}/health`;

    before(async function () {
        // Its own stack and network: it runs beside the other live suites and a demo stack.
        live = await LiveStack.create("canary", "10.95.0.0/24", {
            "holodeck:canary": "1", "holodeck:canarySoakSeconds": "20", "holodeck:healthTimeoutSeconds": "180",
        });
    });

    after(async function () {
        await live?.remove();
    });

    it("up of A: no release is live yet, so the canary's gates are all its trial", async function () {
        const output = await live.pulumiOk("up", "--yes", "--skip-preview");
        assert.match(output, /no release is live yet: the canary of release [0-9a-f]{12} has none to stand beside/);
        assert.equal((await live.outputs()).verified, true);
    });

    it("up of B under load: the canary alone serves B, at its share, before the verdict; the rest are made after it; then B alone", async function () {
        const outputsA = await live.outputs();
        const commitB = commitChange(live.repo, live.commitA, "release-b", { "pyproject.toml": sampleVersion("1.0.1") });
        live.configure(commitB);
        const load = startLoad(balancerHealth(outputsA));
        const events = (await live.pulumiOk("up", "--yes", "--skip-preview", "--json")).trim().split("\n").map((line) => JSON.parse(line) as EngineEvent);
        const samples = (await load.stop()).sort((a, b) => a.start - b.start);
        outputsB = await live.outputs();
        assert.equal(outputsB.verified, true);

        const failed = samples.filter((sample) => sample.status !== 200);
        assert.deepEqual(failed.slice(0, 5), [], `${failed.length} of ${samples.length} requests failed`);
        // The engine's order: the canary's trial finished before the second server was begun.
        const first = (urnEnd: string, what: "resourcePreEvent" | "resOutputsEvent") =>
            events.find((event) => event[what]?.metadata.urn.endsWith(urnEnd) && event[what]?.metadata.op !== "same");
        const trialDone = first("::balancer-canary", "resOutputsEvent");
        const restBegun = first("::app-1", "resourcePreEvent");
        const switched = first("::balancer-switch", "resOutputsEvent");
        assert.ok(trialDone && restBegun && switched, "the up has no canary trial, second server or switch");
        assert.ok(trialDone.sequence < restBegun.sequence, "the rest of the release was begun before the canary's verdict");
        assert.ok(first("::app-0", "resourcePreEvent")!.sequence < trialDone.sequence);

        // Before the last answer of A, only the canary answered B: at most its share of the requests, in one stretch.
        const lastA = samples.map((sample) => sample.release).lastIndexOf(String(outputsA.releaseId));
        const beforeSwitch = samples.slice(0, lastA + 1);
        const { answered, share } = shareOf(beforeSwitch, String(outputsB.releaseId));
        assert.ok(answered.length > 0, "the canary served nothing beside A");
        assert.ok(share <= canaryShare + 0.05, `the canary answered ${answered.length} requests, ${(100 * share).toFixed(0)} % of those made while it served`);
        assert.deepEqual(beforeSwitch.filter((sample) => ![outputsA.releaseId, outputsB.releaseId].includes(sample.release)), []);
        assert.deepEqual(samples.slice(lastA + 1).filter((sample) => sample.release !== outputsB.releaseId || sample.version !== "1.0.1"), [], "A answered after B took over");
        console.error(`canary: ${samples.length} requests during the up of B, 0 failed, longest ${longestMs(samples)} ms; `
            + `the canary answered ${answered.length} (${(100 * share).toFixed(0)} % while it served, at most ${(100 * canaryShare).toFixed(0)} %) before the verdict`);
        const answer = await get(balancerHealth(outputsB));
        assert.deepEqual([answer.status, JSON.parse(answer.body).version, answer.release], [200, "1.0.1", outputsB.releaseId]);
    });

    it("a canary that fails under load stops the rollout: B alone serves, and the rest of the release is never made", async function () {
        // /health answers 500 once the process has answered 200 requests: no gate sends that many,
        // the traffic the canary gets beside B does at once.
        const commitC = commitChange(live.repo, live.commitA, "leaks-under-load", {
            "pyproject.toml": sampleVersion("1.0.2"),
            [appPy]: (text) => text.replace('    if path == "/health":\n', '    if path == "/health":\n        ANSWERED.append(1)\n        if len(ANSWERED) > 200:\n'
                + '            return _json(start_response, "500 Internal Server Error", {"status": "exhausted", "version": VERSION})\n')
                .replace("def application(environ, start_response):", "ANSWERED = []\n\n\ndef application(environ, start_response):"),
        });
        const serversB = live.appServers();
        live.configure(commitC);
        const load = startLoad(balancerHealth(outputsB));
        const done = await live.pulumi("up", "--yes", "--skip-preview");
        const samples = (await load.stop()).sort((a, b) => a.start - b.start);
        const output = `${done.stdout}${done.stderr}`;
        assert.notEqual(done.status, 0, `the up of the leaking release succeeded:\n${output}`);
        assert.match(output, /balancer-canary/);
        assert.match(output, new RegExp(`the canary of release [0-9a-f]{12}: failed beside release-${String(outputsB.releaseId)}, and is withdrawn: the rollout stops here`));
        assert.match(output, /canary server [0-9a-f]{12}\.canary0 \(10\.95\.0\.\d+:8000\) is \S+[^\n]* after \d+ requests: [1-9]\d* answered 5xx/);

        // Every failed request was the canary's, its share at most; after its last answer, only B.
        const failed = samples.filter((sample) => sample.status !== 200);
        assert.ok(failed.length > 0, "the canary's 500s never reached the load loop");
        const canaryRelease = failed[0].release;
        assert.ok(canaryRelease && canaryRelease !== outputsB.releaseId, `a failed request was not the canary's: ${JSON.stringify(failed[0])}`);
        assert.deepEqual(failed.filter((sample) => sample.release !== canaryRelease), []);
        const { answered, share } = shareOf(samples, canaryRelease);
        assert.ok(share <= canaryShare + 0.05, `the canary answered ${answered.length} requests, ${(100 * share).toFixed(0)} % of those made while it served`);
        const lastCanary = answered[answered.length - 1];
        assert.deepEqual(samples.filter((sample) => sample.start > lastCanary.end && (sample.status !== 200 || sample.release !== outputsB.releaseId)), []);
        console.error(`canary: ${samples.length} requests during the failed up, ${failed.length} failed, all the canary's; `
            + `it answered ${answered.length} (${(100 * share).toFixed(0)} % while it served) before it was withdrawn`);

        // B's servers are the same containers; of C, only the canary was made.
        const servers = live.appServers();
        assert.deepEqual(servers.filter((line) => serversB.includes(line)), serversB);
        assert.deepEqual(servers.filter((line) => !serversB.includes(line)).map((line) => line.split(" ")[1].replace(/-[0-9a-f]+$/, "")), ["app-0"]);
        for (let i = 0; i < 20; i++) {
            const answer = await get(balancerHealth(outputsB));
            assert.deepEqual([answer.status, answer.release], [200, outputsB.releaseId]);
        }
    });

    it("destroy leaves nothing of the stack", async function () {
        await live.pulumiOk("destroy", "--yes", "--skip-preview");
        assert.deepEqual(live.containers(true), []);
        assert.equal(live.networks(), "");
    });
});
