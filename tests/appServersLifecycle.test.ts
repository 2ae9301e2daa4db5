// What replaces what among the app servers and their seeds on the master, read from the options
// and inputs the real program gives each resource under the SDK's mocks. The engine acts on these
// (replacementTrigger, pulumi-command's `triggers`, deleteBeforeReplace); mocks never diff, so the
// tests hold the program to the design: a new release replaces the servers and their keys; a
// replaced master (new server id, same address and key) gets the release's pillar and minion keys
// again and keeps the servers; a delete acts only on the master its resource was created on.
import * as assert from "node:assert/strict";
import { minionKeyDeleteScript, pillarDeleteScript, releaseName } from "../components/appServers";
import { shellQuote } from "../lib/shell";
import { OfflineRun, RecordedResource, reveal, runOffline } from "../tools/offlineRun";
import { releasePillarPath } from "../lib/salt";
import { projectName, stackConfig } from "../tools/stackFiles";

type Program = () => Promise<Record<string, unknown>>;

const commitA = "3f786850e387550fdab836ed7e6dc881de23001b";
const commitB = "89e6c98d92887913cadf06b2adb97f26cde4849b";
// The master's server id under mocks: the stand-in cloud's ids are `${name}-id`.
const masterServerId = "salt-master-host-server-id";

/** The resources of a run by logical name. */
const byName = (run: OfflineRun) => new Map(run.resources.map((resource) => [resource.name, resource]));

/** The app servers of a run, with their recorded minion id and release id (from their metadata). */
function servers(run: OfflineRun): { server: RecordedResource; minion: string; release: string; index: number }[] {
    return run.resources.filter((resource) => resource.type === "openstack:compute/instance:Instance" && resource.parent === "app")
        .map((server) => {
            const metadata = reveal(server.inputs.metadata) as Record<string, string>;
            return { server, minion: metadata["holodeck-minion-id"], release: metadata["holodeck-release"], index: Number(/-(\d+)$/.exec(server.name)?.[1]) };
        });
}

describe("the app servers' lifecycle under mocks: replacement triggers and guarded deletes", function () {
    this.timeout(120_000);
    let runA: OfflineRun;
    let runB: OfflineRun;

    before(async () => {
        const program = (await import("../index")).default as Program;
        for (const [commit, set] of [[commitA, (run: OfflineRun) => (runA = run)], [commitB, (run: OfflineRun) => (runB = run)]] as const) {
            set(await runOffline(program, { project: projectName(), stack: "test", config: { ...stackConfig("test"), "holodeck:commit": commit } }));
        }
    });

    it("replaces each server and its minion key when the release changes, and on nothing of the master", () => {
        for (const run of [runA, runB]) {
            const resources = byName(run);
            const found = servers(run);
            assert.ok(found.length >= 2, "the test stack has several servers");
            for (const { server, release, index } of found) {
                assert.match(release, /^[0-9a-f]{12}$/);
                // The release id alone: a replaced master (new server id) leaves the servers be.
                assert.deepEqual(server.options.replacementTrigger, release, `${server.name}'s trigger is its release id`);
                const key = resources.get(`app-${index}-minion-key`);
                assert.equal(key?.type, "tls:index/privateKey:PrivateKey");
                assert.deepEqual(key?.options.replacementTrigger, release, `${key?.name}'s trigger is its release id`);
            }
        }
        assert.notEqual(servers(runA)[0].release, servers(runB)[0].release, "a new commit is a new release: new triggers");
    });

    it("puts the release's pillar on a replaced master: triggered by its path and the master's server id, never deleted first", () => {
        for (const run of [runA, runB]) {
            const pillar = byName(run).get("app-pillar");
            const release = servers(run)[0].release;
            const file = releasePillarPath(releaseName("holodeck-hello", "test", release));
            assert.deepEqual(reveal(pillar?.inputs.triggers), [file, masterServerId]);
            // Create-before-delete: on a new release the old servers keep their pillar until they go.
            assert.equal(pillar?.options.deleteBeforeReplace, undefined);
            assert.equal(pillar?.options.replacementTrigger, undefined, "pulumi-command's triggers replace it, nothing else");
            assert.equal(reveal(pillar?.inputs.delete), `sudo bash -c ${shellQuote(pillarDeleteScript(file, masterServerId))}`, "its delete acts on its own master only");
            assert.match(String(reveal(pillar?.inputs.delete)), new RegExp(masterServerId));
        }
    });

    it("seeds each minion key on a replaced master: triggered by the minion id, its key and the master's server id", () => {
        for (const run of [runA, runB]) {
            const resources = byName(run);
            for (const { minion, index } of servers(run)) {
                const seed = resources.get(`app-${index}-minion-key-seed`);
                const publicKeyPem = String(reveal(seed?.inputs.create)).match(/-----BEGIN PUBLIC KEY-----[^']*-----END PUBLIC KEY-----\n/)?.[0];
                assert.ok(publicKeyPem, `${seed?.name} writes a public key`);
                assert.deepEqual(reveal(seed?.inputs.triggers), [minion, publicKeyPem, masterServerId]);
                assert.equal(seed?.options.deleteBeforeReplace, undefined);
                assert.equal(seed?.options.replacementTrigger, undefined);
                assert.equal(reveal(seed?.inputs.delete), `sudo bash -c ${shellQuote(minionKeyDeleteScript(minion, masterServerId))}`, "salt-key -d, on its own master only");
            }
        }
    });
});
