// holodeck:canary under mocks, on the docker substrate: the order the program gives the engine
// (the canary's gates and trial before the rest of the release), and the trial's script.
import * as assert from "node:assert/strict";
import { OfflineRun, reveal, runOffline } from "../tools/offlineRun";
import { testConfig } from "./programConfig";

const openStackOnly = ["holodeck:imageId", "holodeck:flavor", "holodeck:adminCidr", "openstack:authUrl", "openstack:region"];
const dockerConfig = {
    ...Object.fromEntries(Object.entries(testConfig).filter(([key]) => !openStackOnly.includes(key))),
    "holodeck:substrate": "docker",
    "holodeck:loadBalancer": "true",
};

describe("the program with holodeck:canary, under mocks (docker substrate)", function () {
    let program: () => Promise<Record<string, unknown>>;
    const dependsOn = (run: OfflineRun, name: string) => run.resources.find((resource) => resource.name === name)?.options.dependsOn;
    const names = (run: OfflineRun) => run.resources.map((resource) => resource.name);

    before(async () => {
        program = (await import("../index")).default as typeof program;
    });

    it("makes the canary first, gates, checks and tries it, and only then the rest of the release", async () => {
        const run = await runOffline(program, { project: "holodeck", stack: "test", config: { ...dockerConfig, "holodeck:canary": "1", "holodeck:canarySoakSeconds": "30" } });
        assert.deepEqual(dependsOn(run, "app-0"), ["app-0-minion-key-seed", "app-pillar"]);
        assert.deepEqual(dependsOn(run, "app-canary-gate"), ["app-0"]);
        assert.deepEqual(dependsOn(run, "checks-canary"), ["checks-runner", "app-canary-gate"]);
        assert.deepEqual(dependsOn(run, "balancer-canary"), ["balancer-host-ready", "checks-canary"]);
        for (const rest of ["app-1", "app-2"]) assert.deepEqual(dependsOn(run, rest), [`${rest}-minion-key-seed`, "app-pillar", "balancer-canary"]);
        // Then the whole release passes the usual gates before the switch.
        assert.deepEqual(dependsOn(run, "app-health-gate"), ["app-0", "app-1", "app-2"]);
        assert.deepEqual(dependsOn(run, "balancer-switch"), ["balancer-host-ready", "checks-servers"]);

        const trial = String(reveal(run.resources.find((resource) => resource.name === "balancer-canary")?.inputs.create));
        const [canaryAddress, ...rest] = run.outputs.serverAddresses as string[];
        assert.equal(rest.length, 2);
        assert.match(trial, new RegExp(`addresses=\\(${canaryAddress.replace(/\./g, "\\.")}:8000\\)`), "the trial is of app-0 alone");
        assert.match(trial, /^names=\([0-9a-f]{12}\.canary0\)$/m);
        assert.match(trial, /serves beside \$live for 30 s/);
    });

    it("has no canary by default: every server at once, as before", async () => {
        const run = await runOffline(program, { project: "holodeck", stack: "test", config: dockerConfig });
        assert.deepEqual(names(run).filter((name) => name.includes("canary")), []);
        for (const server of ["app-0", "app-1", "app-2"]) assert.deepEqual(dependsOn(run, server), [`${server}-minion-key-seed`, "app-pillar"]);
    });
});
