// Issue 14, item 3, live on the docker substrate with the real engine: the Salt master is replaced
// (`pulumi up --replace` of its container: what an operator does to put it on a fresh server, and
// what any change of its container does) while a load loop runs through the balancer. The app
// servers keep serving and stay the same containers; afterwards the new master holds exactly their
// keys, none pending, and reaches them over Salt: they authenticated to it with their own keys.
import * as assert from "node:assert/strict";
import { longestMs, startLoad } from "../tools/loadClient";
import { inside } from "../tools/serverContainer";
import { LiveStack } from "./liveStack";

/**
 * Runs `salt --static --out json '*' FUNCTION` on `master` until every one of `minions` returned,
 * within `deadlineSeconds` (a minion that has not authenticated yet misses a publication).
 */
async function fromEvery(master: string, minions: readonly string[], fn: string, deadlineSeconds = 180): Promise<Record<string, unknown>> {
    const deadline = Date.now() + deadlineSeconds * 1000;
    for (;;) {
        const output = await inside(master, "sh", "-c", `salt --static --out json --timeout 20 '*' ${fn} 2>&1 || true`);
        let returned: Record<string, unknown> = {};
        try {
            returned = JSON.parse(output) as Record<string, unknown>;
        } catch {
            // No minion returned: salt says so in words.
        }
        // A minion that did not return is reported as a string.
        if (minions.every((minion) => minion in returned && !/did not return/.test(String(returned[minion])))) return returned;
        if (Date.now() > deadline) throw new Error(`not every minion of ${minions.join(", ")} returned ${fn} to ${master} within ${deadlineSeconds} s; last:\n${output}`);
    }
}

describe("replacing the Salt master (the local stack, live)", function () {
    // Each `up` builds or boots servers and runs Salt in them: minutes.
    this.timeout(1_200_000);
    let live: LiveStack;
    let outputs: Record<string, unknown>;

    before(async function () {
        // Its own stack and network: it runs beside the other live suites and a demo stack.
        live = await LiveStack.create("master-swap", "10.93.0.0/24");
    });

    after(async function () {
        await live?.remove();
    });

    it("up of a release", async function () {
        await live.pulumiOk("up", "--yes", "--skip-preview");
        outputs = await live.outputs();
        assert.equal(outputs.verified, true);
    });

    it("a new master: the app servers serve throughout and stay; their minions authenticate to it with their own keys, none pending", async function () {
        const masterBefore = live.containers().find((line) => line.split(" ")[1].startsWith("salt-master-"))!;
        const others = live.containers().filter((line) => line !== masterBefore);
        const master = (await live.deployment()).resources.find((resource) => resource.urn.endsWith("$docker:index/container:Container::salt-master-host-server"));
        assert.ok(master, "no master container in the stack");

        const load = startLoad(`http://${String(outputs.loadBalancerAddress)}/health`);
        const started = Date.now();
        const up = await live.pulumi("up", "--yes", "--skip-preview", "--replace", master.urn);
        const samples = await load.stop();
        assert.equal(up.status, 0, `${up.stdout}${up.stderr}`);
        console.error(`master replacement: up took ${((Date.now() - started) / 1000).toFixed(0)} s; ${samples.length} requests through the balancer meanwhile, `
            + `longest ${longestMs(samples)} ms`);
        const wrong = samples.filter((sample) => sample.status !== 200 || sample.release !== outputs.releaseId);
        assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} of ${samples.length} requests failed or were not answered by the release`);

        // A new master container; every other container (app servers, store, balancer, build minion) the same.
        const after = live.containers();
        assert.ok(!after.includes(masterBefore), "the master is the same container");
        assert.deepEqual(after.filter((line) => !line.split(" ")[1].startsWith("salt-master-")), others);
        assert.deepEqual((await live.outputs()).releaseId, outputs.releaseId);

        const minions = [...(outputs.minionIds as string[])].sort();
        assert.deepEqual(await live.masterKeys(), { minions, minions_pre: [], minions_rejected: [], minions_denied: [] });
        // Each minion answers the new master (it retries its authentication until the master knows its key).
        const pinged = await fromEvery(live.master(), minions, "test.ping");
        assert.deepEqual(pinged, Object.fromEntries(minions.map((minion) => [minion, true])));
        // And compiles its release's pillar from it afresh (pillar.items asks the master; Salt masks pillar values unless told): the new master holds it again.
        const pillars = await fromEvery(live.master(), minions, "pillar.items unmask=True") as Record<string, { holodeck?: { release?: { id?: string } } }>;
        assert.deepEqual(Object.fromEntries(Object.entries(pillars).map(([minion, pillar]) => [minion, pillar.holodeck?.release?.id])),
            Object.fromEntries(minions.map((minion) => [minion, outputs.releaseId])));
        await live.pulumiOk("preview", "--expect-no-changes");
    });

    it("destroy leaves nothing of the stack", async function () {
        await live.pulumiOk("destroy", "--yes", "--skip-preview");
        assert.deepEqual(live.containers(true), []);
        assert.equal(live.networks(), "");
    });
});
