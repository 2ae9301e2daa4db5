// Runs the real Pulumi program in-process under the SDK's mocks, with a stand-in cloud that
// answers the way OpenStack and the remote commands would, and records every resource: its type,
// name, parent, inputs (secrets kept wrapped), the resources those inputs come from and the
// options that decide replacement. The tests
// and the offline plan use it. It is not a `pulumi preview`: no engine, no state, no provider.
import * as pulumi from "@pulumi/pulumi";
import { execFileSync } from "node:child_process";
import { createHash, generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseSpec } from "../checker/spec";
import type { SshHostKey } from "../lib/cloudInit";

/** The SDK's marker of a secret value inside serialized properties. */
const secretSig = { key: "4dabf18193072939515e22adb298388d", value: "1b47061264138c4ac30d75fd1eb44270" };

export interface RecordedResource {
    readonly type: string;
    readonly name: string;
    /** Logical name of the parent, or undefined for the stack itself. */
    readonly parent?: string;
    /** Inputs as the provider would receive them; secrets stay wrapped (see `isSecretValue`). */
    readonly inputs: Record<string, unknown>;
    /** Names of the resources its inputs' outputs come from (the engine's property dependencies). */
    readonly inputDependencies: readonly string[];
    readonly options: {
        readonly replacementTrigger?: unknown;
        readonly replaceOnChanges?: readonly string[];
        readonly deleteBeforeReplace?: boolean;
        readonly dependsOn: readonly string[];
        readonly additionalSecretOutputs?: readonly string[];
        /** Earlier names of the resource (aliases given by name). */
        readonly aliases?: readonly string[];
    };
}

export interface OfflineRun {
    readonly resources: RecordedResource[];
    /** Stack outputs, resolved; secret ones wrapped like secret inputs. */
    readonly outputs: Record<string, unknown>;
}

export interface OfflineCloud {
    /** Outputs other stacks export, by fully qualified stack name (for promotion). */
    readonly stackOutputs?: Record<string, Record<string, unknown>>;
}

/** Whether a recorded value is a secret (wrapped the way the SDK serializes secrets). */
export function isSecretValue(value: unknown): value is { value: unknown } {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[secretSig.key] === secretSig.value;
}

/** A recorded value with secrets unwrapped (for tests) or replaced by a marker (for display). */
export function reveal(value: unknown, redact = false): unknown {
    if (isSecretValue(value)) return redact ? "[secret]" : reveal(value.value, redact);
    if (Array.isArray(value)) return value.map((item) => reveal(item, redact));
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, reveal(item, redact)]));
    }
    return value;
}

/** Same name, same key: Pulumi keeps generated keys in its state across updates. */
const keys = new Map<string, { privateKeyPem: string; publicKeyPem: string }>();
const sshKeys = new Map<string, SshHostKey>();
function rsaKey(name: string) {
    let key = keys.get(name);
    if (!key) {
        const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
        key = {
            privateKeyPem: pair.privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
            publicKeyPem: pair.publicKey.export({ type: "spki", format: "pem" }).toString(),
        };
        keys.set(name, key);
    }
    return key;
}

/** A new ED25519 key in OpenSSH's formats (what @pulumi/tls gives), made by OpenSSH's own ssh-keygen. */
export function sshKeygenEd25519(): SshHostKey {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-ssh-key-"));
    try {
        const file = path.join(dir, "key");
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", file]);
        return { privateKeyOpenssh: fs.readFileSync(file, "utf8"), publicKeyOpenssh: fs.readFileSync(`${file}.pub`, "utf8") };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** Same name, same key, as for RSA keys. */
function ed25519Key(name: string): SshHostKey {
    let key = sshKeys.get(name);
    if (!key) {
        key = sshKeygenEd25519();
        sshKeys.set(name, key);
    }
    return key;
}

function digest(...parts: string[]): string {
    return createHash("sha256").update(parts.join("\0")).digest("hex");
}

/** Deterministic stand-in addresses, derived from the resource's name. */
function address(prefix: string, name: string): string {
    return `${prefix}.${parseInt(digest(name).slice(0, 2), 16) % 250 + 2}`;
}

function commitOf(createScript: string): string {
    return /--commit ([0-9a-f]{40})/.exec(createScript)?.[1] ?? "";
}

/** The report of a check run where every check passes against every target. */
function checkReport(script: string): string {
    const spec = /<<'HOLODECK_CHECKS_EOF'\n([\s\S]*?)\nHOLODECK_CHECKS_EOF/.exec(script)?.[1] ?? "";
    const commandLine = script.split("\n").pop() ?? "";
    const variables = Object.fromEntries([...commandLine.matchAll(/--var (\w+)=(\S+)/g)].map(([, name, value]) => [name, value]));
    const targets = [...commandLine.matchAll(/--target (\S+)/g)].map(([, target]) => target);
    const { checks } = parseSpec(spec, "check file", variables);
    const results = targets.flatMap((target) => checks.map((check) => ({
        target, check: check.name, method: check.method, url: `${target}${check.path}`, passed: true, attempts: 1, status: check.expect.status, latencyMs: 5, failure: null,
    })));
    const at = "2026-01-02T03:04:05.000Z";
    return JSON.stringify({ passed: true, checks: results.length, failures: 0, targets, results, deadlineSeconds: 60, startedAt: at, finishedAt: at });
}

/** What the stand-in cloud answers for a new resource: its id and output state. */
function fakeState(type: string, name: string, given: Record<string, unknown>, cloud: OfflineCloud): Record<string, unknown> {
    // Pulumi auto-names resources whose name is not given: the logical name plus a random suffix.
    const inputs = { name: `${name}-${digest(name).slice(0, 7)}`, ...given };
    const plain = reveal(inputs) as Record<string, unknown>;
    switch (type) {
        case "tls:index/privateKey:PrivateKey":
            return plain.algorithm === "RSA"
                ? { ...inputs, ...rsaKey(name) }
                : { ...inputs, ...ed25519Key(name) };
        case "openstack:networking/port:Port":
            return { ...inputs, allFixedIps: [address("10.80.0", name)] };
        case "openstack:compute/instance:Instance":
            return { ...inputs, accessIpV4: address("10.80.0", name) };
        case "openstack:networking/floatingIp:FloatingIp":
            return { ...inputs, address: address("198.51.100", name) };
        case "random:index/randomPassword:RandomPassword":
            return { ...inputs, result: digest("password", name).slice(0, Number(plain.length)) };
        case "random:index/randomBytes:RandomBytes": {
            const bytes = Buffer.from(digest("bytes", name).repeat(8), "hex").subarray(0, Number(plain.length));
            return { ...inputs, hex: bytes.toString("hex"), base64: bytes.toString("base64") };
        }
        case "docker:index/container:Container": {
            const [network] = plain.networksAdvanced as { ipv4Address?: string }[];
            return { ...inputs, networkDatas: [{ ipAddress: network.ipv4Address ?? address("10.80.0", name) }] };
        }
        case "openstack:loadbalancer/loadBalancer:LoadBalancer":
            return { ...inputs, vipAddress: address("10.80.0", name) };
        case "openstack:identity/applicationCredential:ApplicationCredential":
            return { ...inputs, secret: `offline-${name}-secret` };
        case "command:remote:Command": {
            const script = String(plain.create ?? "");
            const image = / --image (\S+) --push/.exec(script)?.[1];
            if (image) {
                // An image build: the JSON line holodeck-image prints last.
                const pushed = { id: `sha256:${digest("id", script)}`, image, digest: `sha256:${digest(script)}`, repoDigest: `${image.replace(/:[^:/]*$/, "")}@sha256:${digest(script)}` };
                return { ...inputs, stdout: `${JSON.stringify(pushed)}\n`, stderr: "" };
            }
            if (script.includes("holodeck-check.js")) return { ...inputs, stdout: checkReport(script), stderr: "" };
            const commit = commitOf(script);
            if (!commit) return { ...inputs, stdout: "", stderr: "" };
            // A build: the manifest line holodeck-publish prints last.
            const sha256 = digest(commit, script);
            const version = `1.0.0+git.${commit.slice(0, 7)}`;
            const manifest = {
                name: "holodeck-hello", version, projectVersion: "1.0.0", architecture: "amd64", sha256, commit,
                file: `holodeck-hello_${version}_amd64.deb`, size: 11000, prefix: "/opt/venvs/holodeck-hello",
                service: /--service ('[^']*'|\S+)/.exec(script)?.[1].replace(/'/g, "") ?? null, osId: "debian", osVersion: "12",
            };
            return { ...inputs, stdout: `${JSON.stringify(manifest)}\n`, stderr: "" };
        }
        case "pulumi:pulumi:StackReference":
            return { ...inputs, outputs: cloud.stackOutputs?.[String(plain.name)] ?? {}, secretOutputNames: [] };
        default:
            return inputs;
    }
}

function fakeCall(token: string, inputs: Record<string, unknown>, region: string): Record<string, unknown> {
    switch (token) {
        case "openstack:identity/getAuthScope:getAuthScope":
            return {
                ...inputs, projectId: "0f1e2d3c4b5a69788796a5b4c3d2e1f0", region,
                serviceCatalogs: [{ type: "object-store", name: "swift", id: "swift", endpoints: [
                    { interface: "public", region, regionId: region, id: "swift-public", url: "https://swift.offline.invalid/v1/AUTH_offline" },
                ] }],
            };
        case "openstack:networking/getNetwork:getNetwork":
            return { ...inputs, id: `offline-${inputs.name}-network-id` };
        case "openstack:networking/getSubnetIdsV2:getSubnetIdsV2":
            return { ...inputs, ids: ["offline-subnet-id"] };
        case "openstack:networking/getSubnet:getSubnet":
            return { ...inputs, cidr: "172.16.40.0/24" };
        default:
            return inputs;
    }
}

function resourceName(resource: pulumi.Resource | undefined): string | undefined {
    return resource ? (resource as unknown as { __name?: string }).__name : undefined;
}

/**
 * Runs `program` (the module index.ts exports) for `project`/`stack` with `config` (fully
 * qualified keys) against the stand-in cloud, and returns what it registered.
 */
export async function runOffline(
    program: () => Promise<Record<string, unknown>>,
    options: {
        project: string;
        stack: string;
        config: Record<string, string>;
        /** Keys of `config` set with `--secret`: the program sees them as secret config. */
        secretKeys?: readonly string[];
        cloud?: OfflineCloud;
        /** Receives "type::name" of every resource (but the stack) once registered, even when the run fails. */
        registered?: string[];
    },
): Promise<OfflineRun> {
    const cloud = options.cloud ?? {};
    const inputsByName = new Map<string, { type: string; inputs: Record<string, unknown> }>();
    const recorded: Omit<RecordedResource, "inputs" | "inputDependencies">[] = [];
    const inputDependencies = new Map<string, Promise<string[]>>();
    await pulumi.runtime.setMocks({
        newResource: (args) => {
            inputsByName.set(`${args.type}::${args.name}`, { type: args.type, inputs: args.inputs });
            if (args.type !== "pulumi:pulumi:Stack") options.registered?.push(`${args.type}::${args.name}`);
            return { id: `${args.name}-id`, state: fakeState(args.type, args.name, args.inputs, cloud) };
        },
        call: (args) => fakeCall(args.token, args.inputs, options.config["openstack:region"] ?? ""),
    }, options.project, options.stack, false, "organization");
    pulumi.runtime.setAllConfig(options.config, [...(options.secretKeys ?? [])]);

    // An error thrown inside an apply fails a real update; under mocks it would only leave the
    // run waiting forever, so it fails the run here.
    let failRun: (error: unknown) => void = () => undefined;
    const failed = new Promise<never>((_, reject) => (failRun = reject));
    process.on("unhandledRejection", failRun);
    // The stack resolves its outputs to plain data (secrets unwrapped): keep the program's own.
    let outputs: Record<string, unknown> = {};
    await Promise.race([failed, pulumi.runtime.runInPulumiStack(async () => {
        pulumi.runtime.registerStackTransformation((args) => {
            if (args.type === "pulumi:pulumi:Stack") return undefined;
            const dependsOn = ([] as pulumi.Input<pulumi.Resource>[]).concat((args.opts.dependsOn ?? []) as pulumi.Input<pulumi.Resource>[]);
            // What the SDK itself sends the engine as property dependencies.
            inputDependencies.set(`${args.type}::${args.name}`, pulumi.runtime.serializeResourceProperties(args.name, args.props)
                .then(([, byProperty]) => [...new Set([...byProperty.values()].flatMap((resources) => [...resources].map((resource) => resourceName(resource) ?? "?")))].sort()));
            recorded.push({
                type: args.type,
                name: args.name,
                parent: resourceName(args.opts.parent),
                options: {
                    replacementTrigger: args.opts.replacementTrigger,
                    replaceOnChanges: args.opts.replaceOnChanges,
                    deleteBeforeReplace: (args.opts as pulumi.CustomResourceOptions).deleteBeforeReplace,
                    dependsOn: dependsOn.map((resource) => resourceName(resource as pulumi.Resource) ?? "?"),
                    additionalSecretOutputs: (args.opts as pulumi.CustomResourceOptions).additionalSecretOutputs,
                    aliases: args.opts.aliases?.map((alias) => (alias as pulumi.Alias).name as string),
                },
            });
            return undefined;
        });
        outputs = await program();
        return outputs;
    })]).finally(() => process.off("unhandledRejection", failRun));

    // Registrations finish asynchronously after the program returns.
    const key = (resource: { type: string; name: string }) => `${resource.type}::${resource.name}`;
    for (let waited = 0; recorded.some((resource) => !inputsByName.has(key(resource))); waited += 10) {
        if (waited > 10_000) throw new Error(`resources never registered: ${recorded.filter((resource) => !inputsByName.has(key(resource))).map(key).join(", ")}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const resources = await Promise.all(recorded.map(async (resource) => ({
        ...resource,
        options: { ...resource.options, replacementTrigger: reveal(await resolveValue(resource.options.replacementTrigger)) },
        inputs: inputsByName.get(key(resource))?.inputs ?? {},
        inputDependencies: await inputDependencies.get(key(resource)) ?? [],
    })));
    return { resources, outputs: (await resolveValue(outputs)) as Record<string, unknown> };
}

/** Resolves outputs nested in plain data, wrapping secret ones the way recorded inputs are. */
async function resolveValue(value: unknown): Promise<unknown> {
    if (pulumi.Output.isInstance(value)) {
        const output = value as unknown as { promise(): Promise<unknown>; isSecret: Promise<boolean> };
        const [resolved, secret] = await Promise.all([output.promise(), output.isSecret]);
        const inner = await resolveValue(resolved);
        return secret ? { [secretSig.key]: secretSig.value, value: inner } : inner;
    }
    if (value instanceof Promise) return resolveValue(await value);
    if (Array.isArray(value)) return Promise.all(value.map(resolveValue));
    if (typeof value === "object" && value !== null && !pulumi.Resource.isInstance(value)) {
        const entries = await Promise.all(Object.entries(value).map(async ([name, item]) => [name, await resolveValue(item)] as const));
        return Object.fromEntries(entries);
    }
    return value;
}
