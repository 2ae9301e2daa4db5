// Issue 14, item 4, live on the docker substrate with the real engine: a stack configured as the
// shipped Pulumi.local-prod.yaml promotes what a local stack verified, through a real
// StackReference in the same file backend, and serves the same sha256 from a store of its own on a
// network of its own; a promotion it must refuse fails before any resource.
import * as assert from "node:assert/strict";
import { Release } from "../components/artifact";
import { storePublishedPort } from "../lib/containerServers";
import { inside } from "../tools/serverContainer";
import { get, LiveStack } from "./liveStack";
import { previewSteps } from "./realEngine";

describe("promotion from a local stack to its prod (the local stack, live)", function () {
    // Each `up` builds or boots servers and runs Salt in them: minutes.
    this.timeout(1_200_000);
    let source: LiveStack;
    let prod: LiveStack;
    let verified: Release;

    before(async function () {
        // Their own stacks and networks: they run beside the other live suites and a demo stack.
        source = await LiveStack.create("promo-src", "10.91.0.0/24");
        prod = await source.promoter("promo-prod", "10.92.0.0/24");
    });

    after(async function () {
        await prod?.remove();
        await source?.remove();
    });

    it("up of the source stack: its artifact is verified", async function () {
        await source.pulumiOk("up", "--yes", "--skip-preview");
        const outputs = await source.outputs();
        assert.equal(outputs.verified, true);
        verified = outputs.artifact as Release;
        assert.equal(verified.commit, source.commitA);
    });

    it("refuses, before any resource, a commit other than the one the source verified", async function () {
        const other = "1".repeat(40);
        prod.configure(other);
        const preview = await prod.pulumi("preview", "--json");
        const output = `${preview.stdout}${preview.stderr}`;
        assert.notEqual(preview.status, 0, output);
        assert.match(output, new RegExp(`refusing to promote: stack organization/holodeck/promo-src verified commit ${source.commitA}, but holodeck:commit pins ${other}`));
        assert.deepEqual(previewSteps(preview.stdout).map((step) => `${step.op} ${step.resource}`), ["read pulumi:pulumi:StackReference::organization/holodeck/promo-src"]);
        const refused = await prod.pulumi("up", "--yes", "--skip-preview");
        assert.notEqual(refused.status, 0);
        assert.deepEqual(prod.containers(true), [], "the refused up made containers");
        assert.equal(prod.networks(), "", "the refused up made a network");
    });

    it("up of the prod stack pinned to the verified commit: the same sha256, from its own store, served behind its own balancer", async function () {
        prod.configure(source.commitA);
        await prod.pulumiOk("up", "--yes", "--skip-preview");
        const outputs = await prod.outputs();
        assert.equal(outputs.verified, true);
        const promoted = outputs.artifact as Release;
        assert.equal(promoted.sha256, verified.sha256);
        assert.equal(promoted.commit, source.commitA);
        // Its own store: the URL its servers were given is on its own network's gateway, and the object there has the verified bytes.
        assert.ok(promoted.url.startsWith(`http://10.92.0.1:${storePublishedPort}/`), promoted.url);
        assert.ok(verified.url.startsWith(`http://10.91.0.1:${storePublishedPort}/`), verified.url);
        const object = new URL(promoted.url).pathname.split("/").pop()!;
        const stored = await inside(prod.named(/^artifacts-/)[0], "sh", "-c", `sha256sum /var/lib/holodeck-store/releases/${object}`);
        assert.equal(stored.split(" ")[0], verified.sha256);
        // Nothing built there: no build minion.
        assert.deepEqual(prod.named(/^build-minion-/), []);
        const answer = await get(`http://${String(outputs.loadBalancerAddress)}/health`);
        assert.deepEqual([answer.status, JSON.parse(answer.body).version, answer.release], [200, verified.projectVersion, outputs.releaseId]);
        const page = await get(`http://${String(outputs.loadBalancerAddress)}/`);
        assert.match(page.body, /Hello from local-prod/);
    });

    it("destroy of both leaves nothing of either", async function () {
        await prod.pulumiOk("destroy", "--yes", "--skip-preview");
        await source.pulumiOk("destroy", "--yes", "--skip-preview");
        for (const stack of [prod, source]) {
            assert.deepEqual(stack.containers(true), []);
            assert.equal(stack.networks(), "");
        }
    });
});
