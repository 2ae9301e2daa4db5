// One measured evaluation under the Pulumi SDK's mocks, alone in its process (module state, mocks
// and memory peaks are per process): the AppServers component for N servers ("ours"), or the
// SDK's floor — the same custom resources registered as bare CustomResources with plain inputs and
// no logic of ours ("floor"). bench/plan.ts drives it; it prints one JSON line (WorkerResult).
//
//   node --expose-gc build/bench/bench/planWorker.js --mode ours --servers N
//   node --expose-gc build/bench/bench/planWorker.js --mode floor --servers N --floor JSON(FloorSpec)
import { generateKeyPairSync } from "node:crypto";
import { performance } from "node:perf_hooks";
import type * as pulumiModule from "@pulumi/pulumi";
import { renderAppServerUserData } from "../lib/cloudInit";
import type { SaltMaster } from "../components/saltMaster";
import type { SaltStateTree } from "../components/saltStateTree";
import { masterFinger } from "../lib/salt";

export type Mode = "ours" | "floor";

/** What the floor registers, by type token: how many, and the property map's keys. */
export type FloorSpec = Record<string, { readonly count: number; readonly keys: readonly string[] }>;

export interface WorkerResult {
    readonly mode: Mode;
    readonly servers: number;
    /** Time to require @pulumi/pulumi. */
    readonly sdkLoadMs: number;
    /** Time to require components/appServers and the provider SDKs it imports (0 for the floor). */
    readonly componentLoadMs: number;
    /** Wall time from the start of construction until every resource is registered and the outputs resolved. */
    readonly evalMs: number;
    /** CPU time of the process (all threads, GC helpers included) in that span. */
    readonly evalCpuMs: number;
    /** Custom resources the mocks registered in the timed section, by type token. */
    readonly custom: Record<string, number>;
    /** Component resources the mocks registered in the timed section, by type token. */
    readonly components: Record<string, number>;
    /** Keys of the property map each type's class hands the SDK (declared outputs included). */
    readonly propertyKeys: Record<string, string[]>;
    /** Peak resident set size of the process. */
    readonly peakRssMiB: number;
    /** V8 heap in use after a full GC, with every resource of the run still alive. */
    readonly liveHeapMiB: number;
}

type Pulumi = typeof pulumiModule;
type Inputs = Record<string, unknown>;
/** Constructs the measured resources; returns the outputs whose resolution ends the run. */
type Scenario = () => pulumiModule.Output<unknown>[];

const mib = 1024 * 1024;

// One RSA pair for the whole process: every key resource and the master answer with it.
const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
const pem = {
    privateKeyPem: pair.privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
    publicKeyPem: pair.publicKey.export({ type: "spki", format: "pem" }).toString(),
};

// Plain values shaped like what AppServers receives in index.ts.
const release = { app: "holodeck-hello", stack: "bench", releaseId: "0123456789ab", projectVersion: "1.0.0", masterAddress: "10.80.0.5" };
const connection = { host: "198.51.100.7", user: "debian", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nbench\n-----END OPENSSH PRIVATE KEY-----\n" };

/** The mocks' answers, the same in both modes: inputs as state plus what AppServers reads. */
function mockState(type: string, inputs: Inputs): Inputs {
    switch (type) {
        case "tls:index/privateKey:PrivateKey":
            return { ...inputs, ...pem };
        case "openstack:compute/instance:Instance":
            return { ...inputs, accessIpV4: "10.80.0.10" };
        case "command:remote:Command":
            return { ...inputs, stdout: "", stderr: "" };
        default:
            return inputs;
    }
}

/** Plain inputs per type token, of the size AppServers sends; built before the clock starts. */
function floorInputs(): Record<string, Inputs> {
    const minion = `${release.app}-${release.stack}-${release.releaseId}-0`;
    const userData = renderAppServerUserData({
        masterAddress: release.masterAddress, minionId: minion, minionPrivateKeyPem: pem.privateKeyPem, minionPublicKeyPem: pem.publicKeyPem,
        masterPublicKeyPem: pem.publicKeyPem, masterFinger: masterFinger(pem.publicKeyPem),
        grains: { role: "app", app: release.app, release: release.releaseId, stack: release.stack },
    });
    return {
        "tls:index/privateKey:PrivateKey": { algorithm: "RSA", rsaBits: 2048 },
        "command:remote:Command": {
            connection,
            create: `printf '%s' '${pem.publicKeyPem}' | sudo install -o salt -g salt -m 0644 /dev/stdin /etc/salt/pki/master/minions/${minion}`,
            delete: `sudo rm -f /etc/salt/pki/master/minions/${minion}`,
        },
        "openstack:compute/instance:Instance": {
            imageId: "bench-image", flavorName: "bench-flavor", keyPair: "admin", networks: [{ uuid: "bench-network" }],
            securityGroups: ["app-servers"], userData, metadata: { "holodeck-minion-id": minion, "holodeck-release": release.releaseId },
        },
    };
}

/** Resolves with an output's value (awaiting it is how the program would consume it). */
function settled<T>(output: pulumiModule.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((value) => resolve(value)));
}

/** A CustomResource with no logic of its own (the SDK's class is abstract). */
function bareResource(pulumi: Pulumi) {
    return class Bare extends pulumi.CustomResource {};
}

/**
 * AppServers for `servers` servers on the OpenStack substrate (made before the clock, like the
 * network it makes), with stand-ins for the master and state tree index.ts gives it.
 */
async function oursScenario(pulumi: Pulumi, servers: number, masterReady: pulumiModule.Resource): Promise<{ scenario: Scenario; loadMs: number }> {
    const loadStart = performance.now();
    const [{ AppServers }, { OpenStack }] = await Promise.all([import("../components/appServers"), import("../components/openStack")]);
    const loadMs = performance.now() - loadStart;
    const substrate = new OpenStack({
        authUrl: "https://keystone.example.com/v3", region: "", adminPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBench bench",
        adminPrivateKey: pulumi.secret(connection.privateKey), sshUser: "debian", imageId: "bench-image", flavor: "bench-flavor",
        masterFlavor: "bench-flavor", buildFlavor: "bench-flavor", networkCidr: "10.80.0.0/24", externalNetwork: "PUBLICNET",
        adminCidr: "203.0.113.0/24", appPort: 8000, appCidr: "", loadBalancer: false,
    });
    await settled(substrate.network.networkId);
    // What AppServers reads of the master and the state tree.
    const master = {
        connection: pulumi.secret(connection), ready: masterReady, serverId: pulumi.output("bench-master-server"),
        privateAddress: pulumi.output(release.masterAddress), publicKeyPem: pulumi.output(pem.publicKeyPem), finger: pulumi.output(masterFinger(pem.publicKeyPem)),
    } as unknown as SaltMaster;
    const stateTree = { installed: masterReady } as unknown as SaltStateTree;
    const args = {
        substrate,
        count: servers,
        stack: release.stack,
        app: pulumi.output(release.app),
        releaseId: pulumi.output(release.releaseId),
        projectVersion: pulumi.output(release.projectVersion),
        port: 8000,
        healthTimeoutSeconds: 600,
        saltVersion: "3008",
        master,
        pillar: pulumi.secret(pulumi.output("holodeck: {}\n")),
        stateTree,
    };
    const scenario = () => {
        const component = new AppServers("app", args);
        return [component.healthGate.stdout, component.addresses, component.minionIds];
    };
    return { scenario, loadMs };
}

/**
 * The floor: `spec` as bare CustomResources under the same type tokens (so the mocks answer the
 * same state), each with the same property map the provider class hands the SDK: our plain inputs,
 * every other key undefined (the SDK makes an output of each key, whoever registers it).
 */
function floorScenario(pulumi: Pulumi, spec: FloorSpec): Scenario {
    const inputs = floorInputs();
    const props = Object.fromEntries(Object.entries(spec).map(([type, { keys }]) => {
        const plain = inputs[type];
        if (!plain) throw new Error(`no floor inputs for ${type}: add them to floorInputs() in bench/planWorker.ts`);
        const stale = Object.keys(plain).filter((key) => !keys.includes(key));
        if (stale.length > 0) throw new Error(`floorInputs() gives ${type} keys its class does not have: ${stale.join(", ")}`);
        return [type, Object.fromEntries(keys.map((key) => [key, plain[key]]))];
    }));
    const Bare = bareResource(pulumi);
    const rounds = Math.max(...Object.values(spec).map(({ count }) => count));
    return () => {
        const resources: pulumiModule.CustomResource[] = [];
        // Interleaved like AppServers' servers: one of each type per round.
        for (let index = 0; index < rounds; index++) {
            for (const [type, { count }] of Object.entries(spec)) {
                if (index < count) resources.push(new Bare(type, `floor-${index}-${type}`, props[type]));
            }
        }
        return [pulumi.all(resources.map((resource) => resource.id))];
    };
}

async function main(): Promise<void> {
    const options = parseArguments(process.argv.slice(2));
    const loadStart = performance.now();
    const pulumi = await import("@pulumi/pulumi");
    const sdkLoadMs = performance.now() - loadStart;

    let timing = false;
    let registered = 0;
    let constructed = 0;
    const custom: Record<string, number> = {};
    const components: Record<string, number> = {};
    const propertyKeys: Record<string, string[]> = {};
    let allRegistered: () => void = () => undefined;
    await pulumi.runtime.setMocks({
        newResource: (args) => {
            if (timing) {
                const tally = args.custom ? custom : components;
                tally[args.type] = (tally[args.type] ?? 0) + 1;
                if (++registered === constructed) allRegistered();
            }
            return { id: `${args.name}-id`, state: mockState(args.type, args.inputs) };
        },
        call: (args) => args.inputs,
    }, "holodeck", "bench", false);
    // An error inside an apply would leave the run waiting forever: fail the process instead.
    process.on("unhandledRejection", (error) => {
        console.error(error);
        process.exit(1);
    });

    let componentLoadMs = 0;
    let evalMs = 0;
    let evalCpuMs = 0;
    let liveHeapMiB = 0;
    await pulumi.runtime.runInPulumiStack(async () => {
        // Sees every resource constructed in the timed section: the mocks must register as many.
        pulumi.runtime.registerStackTransformation(({ type, props }) => {
            if (timing) {
                constructed++;
                propertyKeys[type] ??= Object.keys(props);
            }
            return undefined;
        });
        // The master's stand-in, registered before the clock in both modes: the stack registers first.
        const masterReady = new (bareResource(pulumi))("bench:index:MasterReady", "master-ready", {});
        await settled(masterReady.urn);
        let scenario: Scenario;
        if (options.mode === "ours") {
            ({ scenario, loadMs: componentLoadMs } = await oursScenario(pulumi, options.servers, masterReady));
        } else {
            scenario = floorScenario(pulumi, options.floor);
        }
        const registeredAll = new Promise<void>((resolve) => (allRegistered = resolve));
        timing = true;
        const cpuStart = process.cpuUsage();
        const start = performance.now();
        const outputs = scenario();
        if (registered === constructed) allRegistered();
        await Promise.all([registeredAll, ...outputs.map(settled)]);
        evalMs = performance.now() - start;
        const cpu = process.cpuUsage(cpuStart);
        evalCpuMs = (cpu.user + cpu.system) / 1000;
        timing = false;
        if (registered !== constructed) throw new Error(`the mocks registered ${registered} resources, ${constructed} were constructed`);
        (global as unknown as { gc(): void }).gc();
        liveHeapMiB = process.memoryUsage().heapUsed / mib;
        return {};
    });

    const result: WorkerResult = {
        mode: options.mode, servers: options.servers, sdkLoadMs, componentLoadMs, evalMs, evalCpuMs, custom, components, propertyKeys,
        peakRssMiB: process.resourceUsage().maxRSS / 1024, liveHeapMiB,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
}

function parseArguments(argv: string[]): { mode: Mode; servers: number; floor: FloorSpec } {
    const usage = "usage: --mode ours|floor --servers N [--floor JSON]";
    const values = new Map<string, string>();
    for (let index = 0; index < argv.length; index += 2) {
        if (!["--mode", "--servers", "--floor"].includes(argv[index]) || argv[index + 1] === undefined) {
            throw new Error(`bad arguments ${JSON.stringify(argv)} (${usage})`);
        }
        values.set(argv[index], argv[index + 1]);
    }
    const mode = values.get("--mode");
    const servers = Number(values.get("--servers"));
    if (mode !== "ours" && mode !== "floor") throw new Error(`--mode must be ours or floor (${usage})`);
    if (!Number.isInteger(servers) || servers < 1) throw new Error("--servers must be a whole number of at least 1");
    const floor = JSON.parse(values.get("--floor") ?? "{}") as FloorSpec;
    if (mode === "floor" && Object.keys(floor).length === 0) throw new Error(`--mode floor needs --floor (${usage})`);
    return { mode, servers, floor };
}

main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
});
