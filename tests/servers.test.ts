// The long-lived servers (Salt master, build minion) and the network around them, under the SDK's
// mocks: which changes replace a server and how (mocks never diff, so the options and inputs the
// program sets are what is checked), the SSH host key every connection pins, the security-group
// rules, and what waits for the router interface.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { ManagedServer, ManagedServerArgs, replacedInsteadOfMutated, sshDialErrorLimit, sshPerDialTimeoutSeconds } from "../components/managedServer";
import { canonicalCidr, existingSubnet, ExposureArgs, ingressRules } from "../components/network";
import { isSecretValue, OfflineRun, RecordedResource, reveal, runOffline } from "../tools/offlineRun";
import { testConfig as programTestConfig } from "./programConfig";

type Program = () => Promise<Record<string, unknown>>;

// compute.Instance fields that are ForceNew in terraform-provider-openstack v1.54.1
// (openstack/resource_openstack_compute_instance_v2.go): Nova replaces the server itself.
const providerForceNew = ["region", "userData", "availabilityZone", "availabilityZoneHints", "networkMode", "networks", "configDrive", "keyPair", "blockDevices", "schedulerHints"];

// Two servers and a load balancer: every kind of port, association and rule is there.
const testConfig = { ...programTestConfig, "holodeck:serverCount": "2", "holodeck:loadBalancer": "true" };

const types = {
    instance: "openstack:compute/instance:Instance",
    port: "openstack:networking/port:Port",
    association: "openstack:networking/floatingIpAssociate:FloatingIpAssociate",
    rule: "openstack:networking/secGroupRule:SecGroupRule",
};
const byName = (run: OfflineRun) => new Map(run.resources.map((resource) => [resource.name, resource]));
const get = (run: OfflineRun, name: string): RecordedResource => {
    const found = byName(run).get(name);
    assert.ok(found, `${name} is registered`);
    return found;
};
const plain = (resource: RecordedResource) => reveal(resource.inputs) as Record<string, unknown>;

/** Input names whose values differ between two recordings of one resource. */
function changedInputs(before: RecordedResource, after: RecordedResource): string[] {
    const [a, b] = [plain(before), plain(after)];
    return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((key) => JSON.stringify(a[key]) !== JSON.stringify(b[key])).sort();
}

/** Every resource `name` waits for: its inputs' sources and dependsOn, transitively. */
function waitsFor(run: OfflineRun, name: string): Set<string> {
    const resources = byName(run);
    const found = new Set<string>();
    const pending = [name];
    while (pending.length > 0) {
        const resource = resources.get(pending.pop()!);
        for (const next of [...(resource?.inputDependencies ?? []), ...(resource?.options.dependsOn ?? [])]) {
            if (!found.has(next)) {
                found.add(next);
                pending.push(next);
            }
        }
    }
    return found;
}

const hosts = ["salt-master-host", "build-minion-host"];

describe("the long-lived servers and their network", function () {
    let program: Program;
    let base: OfflineRun;

    before(async () => {
        program = (await import("../index")).default as Program;
        base = await runOffline(program, { project: "holodeck", stack: "test", config: testConfig });
    });

    describe("a stable identity, and a server replaced delete-first (item 7)", () => {
        it("keeps each one's port, floating IP and keys, and replaces its server delete-first, never rebuilding or resizing it in place", () => {
            for (const host of hosts) {
                const server = get(base, `${host}-server`);
                assert.equal(server.options.deleteBeforeReplace, true, `${host}: the port serves one server at a time`);
                assert.deepEqual(server.options.replaceOnChanges, ["imageId", "flavorName"], `${host}: Nova would rebuild or resize in place`);
                assert.deepEqual((plain(server).networks as { port: string }[]).map((network) => network.port), [`${host}-port-id`], `${host} is on its own port`);
                for (const stable of [`${host}-port`, `${host}-ip`, `${host}-ip-association`, `${host}-host-key`]) {
                    const options = get(base, stable).options;
                    assert.deepEqual([options.replacementTrigger, options.replaceOnChanges, options.deleteBeforeReplace], [undefined, undefined, undefined], `${stable} is never replaced on purpose`);
                }
            }
        });

        // Each change as the configuration makes it: the server's inputs change (a ForceNew field or
        // one the program replaces on), the port, floating IP, association and keys do not.
        const changes: [string, Record<string, string>, Record<string, string[]>][] = [
            ["a new image", { "holodeck:imageId": "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d" }, { "salt-master-host": ["imageId"], "build-minion-host": ["imageId"] }],
            ["a new master flavor", { "holodeck:masterFlavor": "gp.0.4.8" }, { "salt-master-host": ["flavorName"] }],
            ["a new build flavor", { "holodeck:buildFlavor": "gp.0.8.16" }, { "build-minion-host": ["flavorName"] }],
            ["another Salt version (the master's user data)", { "holodeck:saltVersion": "3007" }, { "salt-master-host": ["userData"] }],
            ["the Docker form (the build minion's user data)", { "holodeck:artifactFormats": "[\"deb\",\"docker\"]", "holodeck:imageRepository": "registry.example.com/team/hello" },
                { "build-minion-host": ["userData"] }],
        ];
        for (const [what, config, replaced] of changes) {
            it(`replaces only the server on ${what}`, async () => {
                const changed = await runOffline(program, { project: "holodeck", stack: "test", config: { ...testConfig, ...config } });
                for (const host of hosts) {
                    const fields = changedInputs(get(base, `${host}-server`), get(changed, `${host}-server`));
                    assert.deepEqual(fields, replaced[host] ?? [], `${host}-server's changed inputs`);
                    for (const field of fields) {
                        assert.ok(providerForceNew.includes(field) || (replacedInsteadOfMutated as readonly string[]).includes(field), `${host}: ${field} replaces the server`);
                    }
                    assert.equal(get(changed, `${host}-server`).options.deleteBeforeReplace, true);
                    for (const stable of [`${host}-port`, `${host}-ip`, `${host}-ip-association`, `${host}-host-key`]) {
                        assert.deepEqual(changedInputs(get(base, stable), get(changed, stable)), [], `${stable} stays`);
                    }
                }
                assert.deepEqual(changedInputs(get(base, "salt-master-key"), get(changed, "salt-master-key")), [], "the Salt master's key stays");
            });
        }

        // The rest of the component's inputs, set directly: the key pair and the network.
        const hostArgs: Omit<ManagedServerArgs, "userData"> = {
            networkId: "net-a", subnetId: "subnet-a", securityGroupIds: ["sg-admin"], imageId: "image-a", flavor: "flavor-a", keyPair: "keypair-a",
            externalNetwork: "PUBLICNET", sshUser: "debian", sshPrivateKey: "admin-key", readyCheck: "true",
        };
        const hostProgram = (args: Omit<ManagedServerArgs, "userData">, text = "#cloud-config\n{}\n") => async () => {
            new ManagedServer("host", { ...args, userData: ({ privateAddress }) => pulumi.interpolate`${text}# ${privateAddress}\n` });
            return {};
        };
        const runHost = (args: Omit<ManagedServerArgs, "userData">, text?: string) =>
            runOffline(hostProgram(args, text), { project: "holodeck", stack: "test", config: {} });
        const componentChanges: [string, Omit<ManagedServerArgs, "userData">, string | undefined, string[], string[]][] = [
            ["the image", { ...hostArgs, imageId: "image-b" }, undefined, ["imageId"], []],
            ["the flavor", { ...hostArgs, flavor: "flavor-b" }, undefined, ["flavorName"], []],
            ["the key pair", { ...hostArgs, keyPair: "keypair-b" }, undefined, ["keyPair"], []],
            ["the user data", hostArgs, "#cloud-config\npackages: [git]\n", ["userData"], []],
            // A port cannot change network: a new port, so a new port id in the server's networks.
            ["the network", { ...hostArgs, networkId: "net-b", subnetId: "subnet-b" }, undefined, [], ["fixedIps", "networkId"]],
        ];
        for (const [what, args, text, serverFields, portFields] of componentChanges) {
            it(`a ManagedServer replaces its server delete-first when ${what} changes, keeping its floating IP and host key`, async () => {
                const [before, after] = [await runHost(hostArgs), await runHost(args, text)];
                assert.deepEqual(changedInputs(get(before, "host-server"), get(after, "host-server")), serverFields);
                assert.deepEqual(changedInputs(get(before, "host-port"), get(after, "host-port")), portFields);
                if (portFields.length > 0) {
                    assert.ok(portFields.includes("networkId"), "network_id is ForceNew on a port: it is replaced");
                    assert.ok(get(after, "host-server").inputDependencies.includes("host-port"), "and the server's networks name the new port (ForceNew)");
                }
                for (const field of serverFields) assert.ok(providerForceNew.includes(field) || (replacedInsteadOfMutated as readonly string[]).includes(field), field);
                assert.equal(get(after, "host-server").options.deleteBeforeReplace, true);
                for (const stable of ["host-ip", "host-host-key"]) assert.deepEqual(changedInputs(get(before, stable), get(after, stable)), [], `${stable} stays`);
            });
        }
    });

    describe("a pinned SSH host key (item 14)", () => {
        const userDataHostKey = (run: OfflineRun, host: string) =>
            (parse(String(plain(get(run, `${host}-server`)).userData)) as { ssh_keys: { ed25519_public: string } }).ssh_keys.ed25519_public;

        it("generates one ED25519 host key per long-lived server, a secret, installed by its user data", () => {
            const keys = hosts.map((host) => userDataHostKey(base, host));
            assert.notEqual(keys[0], keys[1]);
            for (const [index, host] of hosts.entries()) {
                assert.match(keys[index], /^ssh-ed25519 [A-Za-z0-9+/]+=*$/);
                const key = get(base, `${host}-host-key`);
                assert.equal(plain(key).algorithm, "ED25519");
                assert.ok(key.options.additionalSecretOutputs?.includes("privateKeyOpenssh"), "the private key is a secret output");
                assert.ok(isSecretValue(get(base, `${host}-server`).inputs.userData), `${host}'s user data (its host key) is secret`);
            }
        });

        it("pins that key, with dial limits for a slow boot, in every remote command's connection", () => {
            const keyAt = new Map(hosts.map((host) => [String(plain(get(base, `${host}-ip-association`)).floatingIp), userDataHostKey(base, host)]));
            const remote = base.resources.filter((resource) => resource.type.startsWith("command:remote:"));
            assert.ok(remote.length >= 8, "the master's and the build minion's commands");
            const reached = new Set<string>();
            for (const command of remote) {
                const connection = plain(command).connection as Record<string, unknown>;
                assert.ok(keyAt.has(String(connection.host)), `${command.name} connects to the master or the build minion`);
                reached.add(String(connection.host));
                assert.equal(connection.hostKey, keyAt.get(String(connection.host)), `${command.name} pins the host key of the server it reaches`);
                assert.deepEqual([connection.dialErrorLimit, connection.perDialTimeout], [sshDialErrorLimit, sshPerDialTimeoutSeconds], command.name);
            }
            assert.equal(reached.size, 2);
            assert.deepEqual([sshDialErrorLimit, sshPerDialTimeoutSeconds], [100, 10]);
        });

        it("gives a replaced server the same host key, so its connections still verify", async () => {
            const changed = await runOffline(program, { project: "holodeck", stack: "test", config: { ...testConfig, "holodeck:imageId": "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d" } });
            for (const host of hosts) assert.equal(userDataHostKey(changed, host), userDataHostKey(base, host));
        });
    });

    describe("security-group rules (item 12)", () => {
        const exposure: ExposureArgs = { adminCidr: "203.0.113.0/24", appPort: 8000, appCidr: "", loadBalancer: true };
        const identity = (rule: Record<string, unknown>) =>
            JSON.stringify([rule.securityGroupId, rule.direction, rule.ethertype, rule.protocol, rule.portRangeMin, rule.portRangeMax, rule.remoteIpPrefix ?? null, rule.remoteGroupId ?? null]);

        it("merges the load balancer's rule and holodeck:appCidr when they admit the same, whatever the CIDR's host bits", () => {
            for (const appCidr of ["10.80.0.0/24", "10.80.0.77/24"]) {
                const rules = ingressRules({ ...exposure, appCidr }, "10.80.0.0/24").filter((rule) => rule.group === "appServers");
                assert.deepEqual(rules.map((rule) => [rule.from, rule.reasons, rule.description]), [
                    [{ group: "saltMaster" }, ["health-gate"], "health gate on the master"],
                    [{ cidr: "10.80.0.0/24" }, ["load-balancer", "app-cidr"], "load balancer members; app port from the configured CIDR"],
                ]);
            }
        });

        it("keeps rules that differ apart, each named by what it admits", () => {
            const rules = ingressRules({ ...exposure, appCidr: "198.51.100.0/24" }, "10.80.0.0/24");
            assert.deepEqual(rules.map((rule) => rule.key), [
                "admin-tcp-22-from-203.0.113.0_24", "salt-master-tcp-4505-4506-from-app-servers", "app-servers-tcp-8000-from-salt-master",
                "app-servers-tcp-8000-from-10.80.0.0_24", "app-servers-tcp-8000-from-198.51.100.0_24",
            ]);
            // The same rule keeps its name when others come and go; a changed one gets a new name.
            const alone = ingressRules({ ...exposure, loadBalancer: false }, "10.80.0.0/24").map((rule) => rule.key);
            assert.ok(alone.every((key) => rules.some((rule) => rule.key === key)));
            assert.ok(!ingressRules({ ...exposure, appPort: 8080 }, "10.80.0.0/24").some((rule) => rule.key === "app-servers-tcp-8000-from-salt-master"));
        });

        it("canonicalises IPv4 CIDRs the way Neutron compares them", () => {
            assert.deepEqual(["10.80.0.77/24", "203.0.113.9/32", "192.168.7.1/16", "0.0.0.0/0"].map(canonicalCidr), ["10.80.0.0/24", "203.0.113.9/32", "192.168.0.0/16", "0.0.0.0/0"]);
        });

        it("registers each rule once, replaced delete-first, with holodeck:appCidr equal to the subnet and the load balancer on", async () => {
            const run = await runOffline(program, { project: "holodeck", stack: "test", config: { ...testConfig, "holodeck:appCidr": "10.80.0.0/24" } });
            const rules = run.resources.filter((resource) => resource.type === types.rule);
            const identities = rules.map((rule) => identity(plain(rule)));
            assert.equal(new Set(identities).size, identities.length, `no two identical rules: ${identities.join("\n")}`);
            assert.equal(rules.length, 4);
            for (const rule of rules) assert.equal(rule.options.deleteBeforeReplace, true, `${rule.name}: no update exists, and a duplicate is refused`);
        });

        it("takes over the rules of stacks where they were named by reason, instead of creating them again next to them", () => {
            const aliases = Object.fromEntries(base.resources.filter((resource) => resource.type === types.rule).map((rule) => [rule.name, rule.options.aliases]));
            assert.deepEqual(aliases, {
                "net-admin-tcp-22-from-203.0.113.0_24": ["net-ssh"],
                "net-salt-master-tcp-4505-4506-from-app-servers": ["net-salt"],
                "net-app-servers-tcp-8000-from-salt-master": ["net-health-gate"],
                "net-app-servers-tcp-8000-from-10.80.0.0_24": ["net-load-balancer"],
            });
        });
    });

    describe("the router interface first (item 13)", () => {
        it("makes ports, servers, floating-IP associations and the load balancer wait for the router interface", () => {
            const needRoute = base.resources.filter((resource) => [types.instance, types.port, types.association].includes(resource.type)
                || resource.type.startsWith("openstack:loadbalancer/"));
            assert.ok(needRoute.length >= 2 + 2 + 2 + 2 + 1);
            for (const resource of needRoute) assert.ok(waitsFor(base, resource.name).has("net-router-interface"), `${resource.name} waits for the router interface`);
        });

        it("refuses an existing network without a subnet, before anything is created", async () => {
            const created: string[] = [];
            await pulumi.runtime.setMocks({
                newResource: (args) => {
                    created.push(args.name);
                    return { id: `${args.name}-id`, state: args.inputs };
                },
                call: (args) => (args.token === "openstack:networking/getSubnetIdsV2:getSubnetIdsV2" ? { ids: [] } : args.inputs),
            }, "holodeck", "test", false);
            await assert.rejects(existingSubnet("0d2c4e6f-8a1b-4c3d-9e5f-7a6b8c9d0e1f"),
                /network 0d2c4e6f-8a1b-4c3d-9e5f-7a6b8c9d0e1f has no subnet: add one, or leave holodeck:networkId empty/);
            assert.deepEqual(created, []);
        });

        it("has nothing to wait for on an existing network", async () => {
            const run = await runOffline(program, {
                project: "holodeck", stack: "test", config: { ...testConfig, "holodeck:networkId": "0d2c4e6f-8a1b-4c3d-9e5f-7a6b8c9d0e1f" },
            });
            assert.equal(run.resources.some((resource) => resource.type === "openstack:networking/routerInterface:RouterInterface"), false);
            assert.equal(plain(get(run, "salt-master-host-port")).networkId, "0d2c4e6f-8a1b-4c3d-9e5f-7a6b8c9d0e1f");
        });
    });

    describe("the engine the program needs (item 10)", () => {
        const version = (text: string) => text.split(".").map(Number);
        const atLeast = (found: number[], minimum: number[]) => found.reduce((order, part, index) => order || Math.sign(part - minimum[index]), 0) >= 0;

        it("declares 3.226.0 as the minimum engine in Pulumi.yaml, which the SDK the project pins satisfies", () => {
            const root = path.join(__dirname, "..");
            const project = parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as { requiredPulumiVersion?: unknown };
            // A single ">=" comparator: blang/semver's range syntax, which the CLI parses, reads it like everyone else.
            const minimum = /^>=(\d+\.\d+\.\d+)$/.exec(String(project.requiredPulumiVersion))?.[1];
            assert.equal(minimum, "3.226.0", "the release that unwraps output values in replacementTrigger");
            const sdk = (JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { dependencies: Record<string, string> }).dependencies["@pulumi/pulumi"];
            assert.ok(atLeast(version(sdk), version(minimum)), `@pulumi/pulumi ${sdk} goes with an engine the project accepts`);
            assert.ok(!atLeast(version("3.225.9"), version(minimum)) && atLeast(version("3.226.0"), version(minimum)));
        });
    });
});
