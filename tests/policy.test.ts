// The policy pack: every policy on hand-made resources that pass and fail, then on every resource
// the real program registers for the test and prod stacks, and last the pack served the way the
// Pulumi CLI starts it, answering over gRPC.
import * as assert from "node:assert/strict";
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash, generateKeyPairSync } from "node:crypto";
import { createRequire } from "node:module";
import * as path from "node:path";
import type { ResourceValidation, ResourceValidationArgs } from "@pulumi/policy";
import type * as grpcTypes from "@grpc/grpc-js";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import { AnalyzeRequest, AnalyzeResponse, AnalyzerResourceOptions } from "@pulumi/pulumi/proto/analyzer_pb";
import { renderAppServerUserData, renderBuildMinionUserData, renderSaltMasterUserData } from "../lib/cloudInit";
import { OfflineRun, RecordedResource, reveal, runOffline, sshKeygenEd25519 as sshHostKey } from "../tools/offlineRun";
import { repoRoot } from "../lib/paths";
import { masterFinger } from "../lib/salt";
import { projectName, promotionStandIn, stackConfig } from "../tools/stackFiles";
import { admittedTcpPorts, holodeckPolicies, saltPorts, stackOf, types } from "../policy/policies";

type Props = Record<string, unknown>;
type Program = () => Promise<Record<string, unknown>>;

const policyNames = [
    "no-world-open-admin-ports", "salt-ports-from-minions-group", "instances-create-before-delete", "instance-has-keypair",
    "app-server-names-release", "prod-image-by-id", "artifact-container-private", "no-secrets-in-command-lines",
] as const;
type PolicyName = typeof policyNames[number];

/** Validation arguments shaped as the pack's server builds them from an engine request. */
function resourceArgs(
    type: string, props: Props, options: { name?: string; stack?: string; deleteBeforeReplace?: boolean; config?: object } = {},
): ResourceValidationArgs {
    const name = options.name ?? "subject";
    return {
        type, name, props, urn: `urn:pulumi:${options.stack ?? "test"}::holodeck::${type}::${name}`,
        opts: {
            protect: false, ignoreChanges: [], aliases: [], additionalSecretOutputs: [],
            customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
            ...(options.deleteBeforeReplace === undefined ? {} : { deleteBeforeReplace: options.deleteBeforeReplace }),
        },
        stackTags: new Map(),
        isType: () => false,
        asType: () => undefined,
        getConfig: <T extends object>() => (options.config ?? {}) as T,
        notApplicable: (reason?: string) => {
            throw new Error(`not applicable: ${reason}`);
        },
    };
}

/** The messages `policy` reports for one resource in `stack` (the pack reads it from the URN). */
async function violations(policy: PolicyName, args: ResourceValidationArgs, stack = "test"): Promise<string[]> {
    const found = holodeckPolicies().find((candidate) => candidate.name === policy);
    args = { ...args, urn: args.urn.replace(/^urn:pulumi:[^:]+::/, `urn:pulumi:${stack}::`) };
    assert.ok(found, `no policy ${policy}`);
    const messages: string[] = [];
    for (const validate of ([] as ResourceValidation[]).concat(found.validateResource ?? [])) {
        await validate(args, (message) => messages.push(message));
    }
    return messages;
}

function rsaPair() {
    const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
    return {
        privateKeyPem: pair.privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
        publicKeyPem: pair.publicKey.export({ type: "spki", format: "pem" }).toString(),
    };
}

describe("the policy pack", function () {
    it("has every policy mandatory, each once", () => {
        const policies = holodeckPolicies();
        assert.deepEqual(policies.map((policy) => policy.name).sort(), [...policyNames].sort());
        for (const policy of policies) assert.equal(policy.enforcementLevel, "mandatory", policy.name);
    });

    it("reads the stack from a resource's URN", () => {
        assert.equal(stackOf("urn:pulumi:prod::holodeck::openstack:compute/instance:Instance::app-0"), "prod");
        assert.equal(stackOf("urn:pulumi:staging.eu::holodeck::command:remote:Command::build"), "staging.eu");
    });

    describe("on hand-made resources", () => {
        const rule = (props: Props) => resourceArgs(types.secGroupRule, { direction: "ingress", ethertype: "IPv4", ...props });
        const server = (props: Props, options: { name?: string; deleteBeforeReplace?: boolean; config?: object } = {}) =>
            resourceArgs(types.instance, { keyPair: "admin-1a2b3c4", imageId: "7b3c2f5e-1d4a-4c8e-9f06-2a5b8c9d0e1f", ...props }, { name: "app-0", ...options });
        const release = "0a1b2c3d4e5f";
        const master = rsaPair();
        const minion = rsaPair();
        const hostKey = sshHostKey();
        const appUserData = (grains: Record<string, string>, minionId = `holodeck-hello-test-${release}-0`) => renderAppServerUserData({
            masterAddress: "10.80.0.5", minionId, minionPrivateKeyPem: minion.privateKeyPem, minionPublicKeyPem: minion.publicKeyPem,
            masterPublicKeyPem: master.publicKeyPem, masterFinger: masterFinger(master.publicKeyPem), grains,
        });
        const appGrains = { role: "app", app: "holodeck-hello", release, stack: "test" };
        const appMetadata = { "holodeck-minion-id": `holodeck-hello-test-${release}-0`, "holodeck-release": release };

        // [policy, what, resource, stack, what the violations must say (none: passes)]
        const cases: [PolicyName, string, () => ResourceValidationArgs, string, RegExp[]][] = [
            ["no-world-open-admin-ports", "SSH from the admin CIDR", () => rule({ protocol: "tcp", portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: "203.0.113.0/24" }), "test", []],
            ["no-world-open-admin-ports", "the app port from anywhere", () => rule({ protocol: "tcp", portRangeMin: 8000, portRangeMax: 8000, remoteIpPrefix: "0.0.0.0/0" }), "test", []],
            ["no-world-open-admin-ports", "an egress rule to anywhere", () => rule({ direction: "egress", remoteIpPrefix: "0.0.0.0/0" }), "test", []],
            ["no-world-open-admin-ports", "UDP 22 from anywhere", () => rule({ protocol: "udp", portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: "0.0.0.0/0" }), "test", []],
            ["no-world-open-admin-ports", "Salt from the minions' group", () => rule({ protocol: "tcp", portRangeMin: 4505, portRangeMax: 4506, remoteGroupId: "sg-minions" }), "test", []],
            ["no-world-open-admin-ports", "SSH from 0.0.0.0/0", () => rule({ protocol: "tcp", portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: "0.0.0.0/0" }), "test",
                [/opens port 22 to remoteIpPrefix 0\.0\.0\.0\/0/]],
            ["no-world-open-admin-ports", "a port range covering Salt from ::/0", () => rule({ ethertype: "IPv6", protocol: "tcp", portRangeMin: 4500, portRangeMax: 4510, remoteIpPrefix: "::/0" }), "test",
                [/opens ports 4505, 4506 to remoteIpPrefix '::\/0', which is an IPv6 CIDR, and Holodeck's networks are IPv4 only/]],
            // Neutron normalises these to the whole internet: a literal "/0" test misses them.
            ["no-world-open-admin-ports", "SSH from 0.0.0.0/00", () => rule({ protocol: "tcp", portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: "0.0.0.0/00" }), "test",
                [/opens port 22 to remoteIpPrefix '0\.0\.0\.0\/00', which has a prefix length with a leading zero: write it 0\.0\.0\.0\/0\. Only a canonical IPv4 CIDR can be judged here/]],
            ["no-world-open-admin-ports", "SSH from ::/000", () => rule({ ethertype: "IPv6", protocol: "tcp", portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: "::/000" }), "test",
                [/opens port 22 to remoteIpPrefix '::\/000', which is an IPv6 CIDR/]],
            ["no-world-open-admin-ports", "SSH from a padded 0.0.0.0/0", () => rule({ protocol: "tcp", portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: " 0.0.0.0/0 " }), "test",
                [/opens port 22 to remoteIpPrefix ' 0\.0\.0\.0\/0 ', which is not a CIDR/]],
            ["no-world-open-admin-ports", "SSH from half the internet", () => rule({ protocol: "tcp", portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: "128.0.0.0/1" }), "test",
                [/opens port 22 to remoteIpPrefix 128\.0\.0\.0\/1 \(2\.1 billion addresses, much of the internet\)/]],
            ["no-world-open-admin-ports", "SSH from a private /8", () => rule({ protocol: "tcp", portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: "10.0.0.0/8" }), "test", []],
            ["no-world-open-admin-ports", "every protocol and port from anywhere", () => rule({ remoteIpPrefix: "0.0.0.0/0" }), "test",
                [/opens ports 22, 4505, 4506 to remoteIpPrefix 0\.0\.0\.0\/0/]],
            ["no-world-open-admin-ports", "SSH with no remote at all", () => rule({ protocol: "tcp", portRangeMin: 22, portRangeMax: 22 }), "test",
                [/opens port 22 to any source \(no remoteIpPrefix or remoteGroupId\)/]],

            ["salt-ports-from-minions-group", "Salt from the minions' group", () => rule({ protocol: "tcp", portRangeMin: 4505, portRangeMax: 4506, remoteGroupId: "sg-minions" }), "test", []],
            ["salt-ports-from-minions-group", "SSH from a CIDR", () => rule({ protocol: "tcp", portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: "10.0.0.0/8" }), "test", []],
            ["salt-ports-from-minions-group", "Salt from a private CIDR", () => rule({ protocol: "tcp", portRangeMin: 4505, portRangeMax: 4506, remoteIpPrefix: "10.0.0.0/8" }), "test",
                [/admits Salt's ports 4505, 4506 from remoteIpPrefix 10\.0\.0\.0\/8/]],
            ["salt-ports-from-minions-group", "4506 from any source", () => rule({ protocol: "tcp", portRangeMin: 4506, portRangeMax: 4506 }), "test",
                [/admits Salt's port 4506 from any source/]],

            ["instances-create-before-delete", "an auto-named server", () => server({ name: "app-0-1a2b3c4" }, { deleteBeforeReplace: false }), "test", []],
            ["instances-create-before-delete", "a server with no name yet (the program's own inputs)", () => server({}), "test", []],
            ["instances-create-before-delete", "an explicit name", () => server({ name: "web-1" }), "test", [/explicit name 'web-1'.*Fix: remove name/]],
            ["instances-create-before-delete", "another resource's auto-name", () => server({ name: "app-1-1a2b3c4" }), "test", [/explicit name 'app-1-1a2b3c4'/]],
            ["instances-create-before-delete", "deleteBeforeReplace", () => server({ name: "app-0-1a2b3c4" }, { deleteBeforeReplace: true }), "test", [/deleteBeforeReplace is true/]],
            ["instances-create-before-delete", "a server on a pre-created port, delete-first", () => server({ networks: [{ port: "port-id" }] }, { deleteBeforeReplace: true }), "test", []],
            ["instances-create-before-delete", "a server on a pre-created port, create-before-delete", () => server({ networks: [{ port: "port-id" }] }, { deleteBeforeReplace: false }), "test",
                [/attached to a pre-created port but deleteBeforeReplace is not true.*409/]],
            ["instances-create-before-delete", "a server on a network, delete-first", () => server({ networks: [{ uuid: "net-id" }] }, { deleteBeforeReplace: true }), "test", [/deleteBeforeReplace is true/]],

            ["instance-has-keypair", "a key pair", () => server({}), "test", []],
            ["instance-has-keypair", "no key pair", () => server({ keyPair: undefined }), "test", [/has no keyPair/]],

            ["app-server-names-release", "an app server of a release", () => server({ userData: appUserData(appGrains), metadata: appMetadata }), "test", []],
            ["app-server-names-release", "the Salt master", () => server({ userData: renderSaltMasterUserData({
                interfaceAddress: "10.80.0.5", masterPrivateKeyPem: master.privateKeyPem, masterPublicKeyPem: master.publicKeyPem, sshHostKey: hostKey,
            }) }), "test", []],
            ["app-server-names-release", "the build minion", () => server({ userData: renderBuildMinionUserData({ sshHostKey: hostKey }) }), "test", []],
            ["app-server-names-release", "an app server without a release grain", () => server({ userData: appUserData({ role: "app", app: "holodeck-hello" }), metadata: appMetadata }), "test",
                [/names no release: its grain release is undefined/]],
            ["app-server-names-release", "a role-app minion with a release that is not an id", () => server({ userData: appUserData({ ...appGrains, release: "v1.0" }) }), "test",
                [/grain release is "v1\.0"/]],
            ["app-server-names-release", "metadata naming another release", () => server({ userData: appUserData(appGrains), metadata: { ...appMetadata, "holodeck-release": "ffffffffffff" } }), "test",
                [/metadata names release "ffffffffffff" but its user data release 0a1b2c3d4e5f/]],
            ["app-server-names-release", "a minion id reused across releases", () => server({ userData: appUserData(appGrains, "holodeck-hello-test-0"), metadata: appMetadata }), "test",
                [/minion id "holodeck-hello-test-0" does not contain its release/]],
            ["app-server-names-release", "metadata of an app server on the build minion's user data", () => server({ userData: renderBuildMinionUserData({ sshHostKey: hostKey }), metadata: appMetadata }), "test",
                [/configures no Salt minion/]],
            ["app-server-names-release", "metadata of an app server and no user data", () => server({ metadata: appMetadata }), "test", [/has no user data/]],

            ["prod-image-by-id", "an image ID in prod", () => server({}), "prod", []],
            ["prod-image-by-id", "an image name in test", () => server({ imageId: undefined, imageName: "debian-12" }), "test", []],
            ["prod-image-by-id", "an image name in prod", () => server({ imageId: undefined, imageName: "debian-12" }), "prod", [/In stack prod the server boots image name 'debian-12'/]],
            ["prod-image-by-id", "an image ID that is a name in prod", () => server({ imageId: "debian-12" }), "prod", [/imageId "debian-12" is not a Glance image UUID/]],
            ["prod-image-by-id", "an image name in a stack the config adds", () => server({ imageName: "debian-12" }, { config: { stacks: ["prod", "staging"] } }), "staging", [/In stack staging/]],

            ["artifact-container-private", "a container with a temporary URL key", () => resourceArgs(types.container, { metadata: { "Temp-URL-Key": "k" } }), "test", []],
            ["artifact-container-private", "a read grant to a project's user", () => resourceArgs(types.container, { containerRead: "project-id:user-id" }), "test", []],
            ["artifact-container-private", "a referrer denial only", () => resourceArgs(types.container, { containerRead: ".r:-evil.example" }), "test", []],
            ["artifact-container-private", "a public container the config allows", () => resourceArgs(types.container, { containerRead: ".r:*" }, { name: "docs", config: { publicContainers: ["docs"] } }), "test", []],
            ["artifact-container-private", "a world-readable container", () => resourceArgs(types.container, { containerRead: ".r:*,.rlistings" }, { name: "artifacts-container" }), "test",
                [/containerRead '\.r:\*,\.rlistings' makes the container world-readable \(\.r:\*, \.rlistings\).*publicContainers/]],
            ["artifact-container-private", "a referrer grant", () => resourceArgs(types.container, { containerRead: "project-id:user-id, .r:cdn.example" }), "test", [/world-readable \(\.r:cdn\.example\)/]],

            ["no-secrets-in-command-lines", "a public key in the script, a private one on stdin", () => resourceArgs("command:remote:Command", {
                create: `printf '%s' '${minion.publicKeyPem}' | sudo install /dev/stdin /etc/salt/pki/master/minions/m`, stdin: minion.privateKeyPem,
            }), "test", []],
            ["no-secrets-in-command-lines", "a private key in the script", () => resourceArgs("command:remote:Command", { create: `echo '${minion.privateKeyPem}' > key` }), "test",
                [/command's create holds a private key/]],
            ["no-secrets-in-command-lines", "a temporary URL in a local command's delete", () => resourceArgs("command:local:Command", { delete: "curl 'https://swift/v1/a/c/o?temp_url_sig=abc&temp_url_expires=1'" }), "test",
                [/command's delete holds a Swift temporary URL/]],
            ["no-secrets-in-command-lines", "an OpenStack password in the environment", () => resourceArgs("command:remote:Command", { create: "openstack server list", environment: { OS_PASSWORD: "hunter2" } }), "test",
                [/command's environment holds an OpenStack credential/]],
        ];

        for (const [policy, what, subject, stack, expected] of cases) {
            it(`${policy}: ${expected.length === 0 ? "passes" : "fails"} ${what}${stack === "test" ? "" : ` (stack ${stack})`}`, async () => {
                const messages = await violations(policy, subject(), stack);
                assert.equal(messages.length, expected.length, messages.join("\n"));
                expected.forEach((pattern, index) => assert.match(messages[index], pattern));
                for (const message of messages) assert.match(message, /Fix: /, "every violation says how to fix it");
                assert.doesNotMatch(messages.join("\n"), /hunter2|BEGIN RSA PRIVATE KEY/, "no violation repeats the secret it found");
            });
        }

        it("checks only the resource types it guards", async () => {
            const everything = { direction: "ingress", remoteIpPrefix: "0.0.0.0/0", name: "web", containerRead: ".r:*", create: minion.privateKeyPem };
            for (const policy of policyNames) {
                assert.deepEqual(await violations(policy, resourceArgs("openstack:networking/port:Port", everything), "prod"), [], policy);
            }
        });
    });

    describe("over every resource the real program registers", () => {
        const commit = "3f786850e387550fdab836ed7e6dc881de23001b";
        const runs: { stack: string; run: OfflineRun }[] = [];

        before(async () => {
            const program = (await import("../index")).default as Program;
            const project = projectName();
            const test = { ...stackConfig("test"), "holodeck:commit": commit };
            const prod = stackConfig("prod");
            runs.push({ stack: "test", run: await runOffline(program, { project, stack: "test", config: test }) });
            runs.push({ stack: "prod", run: await runOffline(program, { project, stack: "prod", config: prod, cloud: promotionStandIn(prod, commit) }) });
        });

        /**
         * A recorded resource as the engine hands it to the pack: its inputs with secrets unwrapped,
         * and for servers the auto-name the OpenStack bridge's Check fills in (logical name, "-", 7 hex).
         */
        function asPolicyArgs(resource: RecordedResource): ResourceValidationArgs {
            const props = reveal(resource.inputs) as Props;
            if (resource.type === types.instance && props.name === undefined) {
                props.name = `${resource.name}-${createHash("sha256").update(resource.name).digest("hex").slice(0, 7)}`;
            }
            return resourceArgs(resource.type, props, { name: resource.name, deleteBeforeReplace: resource.options.deleteBeforeReplace });
        }

        const ofType = (run: OfflineRun, type: string) => run.resources.filter((resource) => resource.type === type);

        it("finds no violation in the test or the prod stack", async () => {
            const found: string[] = [];
            for (const { stack, run } of runs) {
                for (const resource of run.resources) {
                    for (const policy of policyNames) {
                        for (const message of await violations(policy, asPolicyArgs(resource), stack)) {
                            found.push(`${stack} ${policy} ${resource.type}::${resource.name}: ${message}`);
                        }
                    }
                }
            }
            assert.deepEqual(found, []);
            // Not vacuous: the guarded resources are there.
            const [test, prod] = runs.map(({ run }) => run);
            assert.ok(ofType(test, types.instance).length >= 3 && ofType(prod, types.instance).length >= 3);
            assert.ok(ofType(test, types.secGroupRule).length >= 3);
            assert.equal(ofType(test, types.container).length, 1);
            assert.ok(test.resources.some((resource) => resource.type.startsWith("command:")));
        });

        it("catches each kind of mistake in a copy of the program's own resources", async () => {
            const [test, prod] = runs.map(({ run }) => run);
            const find = (run: OfflineRun, type: string, predicate: (props: Props) => boolean) => {
                const resource = ofType(run, type).find((candidate) => predicate(reveal(candidate.inputs) as Props));
                assert.ok(resource, `the program registers a ${type} the mistake applies to`);
                return asPolicyArgs(resource);
            };
            const sshRule = find(test, types.secGroupRule, (props) => admittedTcpPorts(props, [22]).length > 0);
            const saltRule = find(test, types.secGroupRule, (props) => admittedTcpPorts(props, saltPorts).length > 0);
            const appServer = (run: OfflineRun) => find(run, types.instance, (props) => "holodeck-release" in (props.metadata as Props ?? {}));
            const build = find(test, "command:remote:Command", (props) => typeof props.stdin === "string" && typeof props.create === "string");
            const container = find(test, types.container, () => true);
            const broken = (args: ResourceValidationArgs, props: Props, deleteBeforeReplace?: boolean) =>
                ({ ...args, props: { ...args.props, ...props }, opts: { ...args.opts, ...(deleteBeforeReplace === undefined ? {} : { deleteBeforeReplace }) } });

            const mistakes: [PolicyName, ResourceValidationArgs, string, RegExp][] = [
                ["no-world-open-admin-ports", broken(sshRule, { remoteIpPrefix: "0.0.0.0/0" }), "test", /opens port 22/],
                ["salt-ports-from-minions-group", broken(saltRule, { remoteGroupId: undefined, remoteIpPrefix: "198.51.100.0/24" }), "test", /admits Salt's ports 4505, 4506/],
                ["instances-create-before-delete", broken(appServer(test), {}, true), "test", /deleteBeforeReplace is true/],
                ["instance-has-keypair", broken(appServer(test), { keyPair: undefined }), "test", /no keyPair/],
                // Only a server whose user data was read as an app server's can disagree with its metadata.
                ["app-server-names-release", broken(appServer(test), { metadata: { ...(appServer(test).props.metadata as Props), "holodeck-release": "000000000000" } }), "test",
                    /metadata names release "000000000000" but its user data release [0-9a-f]{12}/],
                ["prod-image-by-id", broken(appServer(prod), { imageId: undefined, imageName: "debian-12" }), "prod", /In stack prod/],
                ["artifact-container-private", broken(container, { containerRead: ".r:*" }), "test", /world-readable/],
                ["no-secrets-in-command-lines", broken(build, { environment: { OS_PASSWORD: "hunter2" } }), "test", /OpenStack credential/],
            ];
            assert.deepEqual(mistakes.map(([policy]) => policy).sort(), [...policyNames].sort(), "one mistake per policy");
            for (const [policy, args, stack, pattern] of mistakes) {
                const messages = await violations(policy, args, stack);
                assert.equal(messages.length, 1, `${policy}: ${messages.join("\n")}`);
                assert.match(messages[0], pattern);
            }
        });
    });

    describe("served over gRPC", () => {
        // As the language host starts a pack: node runs @pulumi/pulumi/cmd/run-policy-pack in the pack's
        // directory with the engine's address and the directory; the pack prints the port it serves gRPC
        // on. (tests/engine.live.test.ts has the real engine load it and report violations.)
        const packDir = path.join(repoRoot, "policy");
        // gRPC and protobuf as the SDK itself resolves them.
        const sdkRequire = createRequire(require.resolve("@pulumi/pulumi/package.json"));
        const grpc = sdkRequire("@grpc/grpc-js") as typeof grpcTypes;
        const { Struct } = sdkRequire("google-protobuf/google/protobuf/struct_pb") as typeof import("google-protobuf/google/protobuf/struct_pb");
        let pack: ChildProcess | undefined;
        let client: AnalyzerClient;
        let stderr = "";

        before(async function () {
            this.timeout(30_000);
            const runner = execFileSync(process.execPath, ["-e", "console.log(require.resolve('@pulumi/pulumi/cmd/run-policy-pack'))"], { cwd: packDir, encoding: "utf8" }).trim();
            const started = spawn(process.execPath, [runner, "127.0.0.1:1", packDir], { cwd: packDir });
            pack = started;
            started.stderr.on("data", (chunk) => (stderr += chunk));
            const port = await new Promise<string>((resolve, reject) => {
                started.stdout.once("data", (chunk) => resolve(String(chunk).trim()));
                started.once("exit", (code) => reject(new Error(`the pack exited with ${code}: ${stderr}`)));
            });
            assert.match(port, /^\d+$/);
            client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        });

        after(() => {
            client?.close();
            if (pack?.pid !== undefined && pack.exitCode === null) process.kill(pack.pid);
        });

        function analyze(type: string, name: string, props: Props, deleteBeforeReplace?: boolean): Promise<AnalyzeResponse> {
            const request = new AnalyzeRequest();
            request.setType(type);
            request.setName(name);
            request.setUrn(`urn:pulumi:prod::holodeck::${type}::${name}`);
            request.setProperties(Struct.fromJavaScript(props as Parameters<typeof Struct.fromJavaScript>[0]));
            const options = new AnalyzerResourceOptions();
            if (deleteBeforeReplace !== undefined) {
                options.setDeletebeforereplace(deleteBeforeReplace);
                options.setDeletebeforereplacedefined(true);
            }
            request.setOptions(options);
            return new Promise((resolve, reject) => client.analyze(request, (error, response) => (error ? reject(error) : resolve(response))));
        }

        it("turns a value not known during preview into an advisory note, not a pass or a failure", async () => {
            // The engine's placeholder for a string not known yet (what user data built from new keys is in a preview).
            const unknownString = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
            const response = await analyze(types.instance, "app-1", {
                name: "app-1-1a2b3c4", imageId: "7b3c2f5e-1d4a-4c8e-9f06-2a5b8c9d0e1f", keyPair: "admin", userData: unknownString,
            });
            const [diagnostic, ...others] = response.getDiagnosticsList();
            assert.deepEqual(others, []);
            assert.equal(diagnostic.getPolicyname(), "app-server-names-release");
            assert.equal(diagnostic.getEnforcementlevel(), 0, "advisory");
            assert.match(diagnostic.getMessage(), /can't run policy 'app-server-names-release'.*during preview/);
        });
    });
});
