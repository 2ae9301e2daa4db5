// Issue 14, item 5, live on the docker substrate with the real engine: with holodeck:keepReleases,
// setting holodeck:commit back to a kept release redeploys its .deb from the stack's store through
// the same gates, without a build. Prints the rollback's time beside a fresh deploy's.
import * as assert from "node:assert/strict";
import { KeptReleases } from "../lib/keptReleases";
import { commitChange, get, LiveStack, sampleVersion } from "./liveStack";
import { EngineEvent, previewSteps } from "./realEngine";

describe("rolling back to a kept release (the local stack, live)", function () {
    // Each `up` builds or boots servers and runs Salt in them: minutes.
    this.timeout(1_200_000);
    let live: LiveStack;
    let outputsA: Record<string, unknown>;
    let freshSeconds: number;
    let commitB: string;
    const seconds = (since: number) => (Date.now() - since) / 1000;
    const health = async (outputs: Record<string, unknown>) => {
        const answer = await get(`http://${String(outputs.loadBalancerAddress)}/health`);
        return [answer.status, JSON.parse(answer.body).version, answer.release];
    };

    before(async function () {
        // Its own stack and network: it runs beside the other live suites and a demo stack.
        live = await LiveStack.create("rollback", "10.94.0.0/24", { "holodeck:keepReleases": "3" });
    });

    after(async function () {
        await live?.remove();
    });

    it("up of A, then of B, each built: both kept, newest first", async function () {
        await live.pulumiOk("up", "--yes", "--skip-preview");
        outputsA = await live.outputs();
        assert.deepEqual((outputsA.keptReleases as KeptReleases).releases.map((kept) => kept.manifest.commit), [live.commitA]);

        commitB = commitChange(live.repo, live.commitA, "release-b", { "pyproject.toml": sampleVersion("1.0.1") });
        live.configure(commitB);
        const started = Date.now();
        await live.pulumiOk("up", "--yes", "--skip-preview");
        freshSeconds = seconds(started);
        const outputsB = await live.outputs();
        assert.deepEqual(await health(outputsB), [200, "1.0.1", outputsB.releaseId]);
        assert.deepEqual((outputsB.keptReleases as KeptReleases).releases.map((kept) => kept.manifest.commit), [commitB, live.commitA]);
    });

    it("commit set back to A: A's very .deb and release again, through the gates, with no build", async function () {
        live.configure(live.commitA);
        const preview = previewSteps(await live.pulumiOk("preview", "--json"));
        assert.deepEqual(preview.filter((step) => step.resource.endsWith("::build-minion-build")).map((step) => step.op), ["delete"], "the build is not left out");

        const started = Date.now();
        const events = (await live.pulumiOk("up", "--yes", "--skip-preview", "--json")).trim().split("\n").map((line) => JSON.parse(line) as EngineEvent);
        const rollbackSeconds = seconds(started);
        const buildSteps = events.map((event) => event.resourcePreEvent?.metadata).filter((step) => step?.urn.endsWith("::build-minion-build")).map((step) => step!.op);
        assert.deepEqual(buildSteps, ["delete"], "the rollback ran a build");

        const outputs = await live.outputs();
        assert.equal(outputs.verified, true);
        // The same .deb (its download URL is signed anew).
        const unsigned = (artifact: unknown) => ({ ...(artifact as Record<string, unknown>), url: undefined });
        assert.deepEqual(unsigned(outputs.artifact), unsigned(outputsA.artifact));
        assert.equal(outputs.releaseId, outputsA.releaseId, "the release id (artifact and config) is A's again");
        assert.deepEqual(await health(outputs), [200, "1.0.0", outputsA.releaseId]);
        const kept = outputs.keptReleases as KeptReleases;
        assert.deepEqual([kept.releases.map((release) => release.manifest.commit), kept.built], [[live.commitA, commitB], ""]);
        // Nothing changed since: the kept release stands in again, no build comes back.
        await live.pulumiOk("preview", "--expect-no-changes");
        console.error(`rollback: up to a kept release took ${rollbackSeconds.toFixed(0)} s; the fresh deploy of B, built, took ${freshSeconds.toFixed(0)} s `
            + `(ratio ${(rollbackSeconds / freshSeconds).toFixed(2)})`);
    });

    it("destroy leaves nothing of the stack", async function () {
        await live.pulumiOk("destroy", "--yes", "--skip-preview");
        assert.deepEqual(live.containers(true), []);
        assert.equal(live.networks(), "");
    });
});
