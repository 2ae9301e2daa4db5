// The real Pulumi program, run in-process under the SDK's mocks against a stand-in cloud.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { bundleChecker, runnerFile } from "../lib/repoFiles";
import { minionKeyDeleteScript, pillarDeleteScript } from "../components/appServers";
import { shellQuote } from "../lib/shell";
import { isSecretValue, OfflineRun, RecordedResource, reveal, runOffline } from "../tools/offlineRun";
import { adminCidr, commitA, commitB, prodConfig, testConfig, verifiedArtifact } from "./programConfig";

type Program = () => Promise<Record<string, unknown>>;

// The master's server id under mocks (the stand-in cloud's ids are `${name}-id`).
const masterServerId = "salt-master-host-server-id";

const ofType = (run: OfflineRun, type: string) => run.resources.filter((resource) => resource.type === type);
const instances = (run: OfflineRun) => ofType(run, "openstack:compute/instance:Instance");
const byName = (run: OfflineRun) => new Map(run.resources.map((resource) => [resource.name, resource]));

/** Resource names below a component, through any depth of parents. */
function descendants(run: OfflineRun, root: string): RecordedResource[] {
    const names = new Set([root]);
    for (let grew = true; grew;) {
        grew = false;
        for (const resource of run.resources) {
            if (resource.parent && names.has(resource.parent) && !names.has(resource.name)) {
                names.add(resource.name);
                grew = true;
            }
        }
    }
    return run.resources.filter((resource) => names.has(resource.name) && resource.name !== root);
}

describe("the Pulumi program under mocks", function () {
    let program: Program;
    let testA: OfflineRun;
    let testB: OfflineRun;

    before(async () => {
        program = (await import("../index")).default as Program;
        testA = await runOffline(program, { project: "holodeck", stack: "test", config: testConfig });
        testB = await runOffline(program, { project: "holodeck", stack: "test", config: { ...testConfig, "holodeck:commit": commitB } });
    });

    it("builds the test stack from components: network, Salt master and states, artifact store, build minion, app servers, checks", () => {
        const components = testA.resources.filter((resource) => resource.type.startsWith("holodeck:index:")).map((resource) => resource.type).sort();
        assert.deepEqual(components, [
            "holodeck:index:AppServers", "holodeck:index:Artifact", "holodeck:index:ArtifactStore", "holodeck:index:BuildMinion",
            "holodeck:index:FunctionalChecks", "holodeck:index:ManagedServer", "holodeck:index:ManagedServer", "holodeck:index:Network", "holodeck:index:SaltMaster",
            "holodeck:index:SaltStateTree",
        ]);
        assert.equal(instances(testA).length, 3 + 2, "three app servers, the master and the build minion");
        assert.equal(descendants(testA, "app").filter((resource) => resource.type === "openstack:compute/instance:Instance").length, 3);
    });

    it("names no instance and never deletes an app server before its replacement exists", () => {
        for (const instance of [...instances(testA), ...instances(testB)]) {
            assert.equal(instance.inputs.name, undefined, `${instance.name} has no explicit name`);
            // The master and the build minion keep their port: they are replaced delete-first (tests/servers.test.ts).
            assert.equal(instance.options.deleteBeforeReplace, instance.parent !== "app", `${instance.name}: app servers are created before their predecessors are deleted`);
            assert.ok(instance.options.replaceOnChanges?.includes("imageId") && instance.options.replaceOnChanges.includes("flavorName"),
                `${instance.name} is replaced, not rebuilt or resized in place`);
        }
    });

    it("changes only release-bound resources between two commits", () => {
        const a = byName(testA);
        const b = byName(testB);
        assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort(), "the same resources, by name");
        const changedTrigger = [...a.values()]
            .filter((resource) => JSON.stringify(resource.options.replacementTrigger) !== JSON.stringify(b.get(resource.name)?.options.replacementTrigger))
            .map((resource) => resource.name).sort();
        const appResources = descendants(testA, "app").filter((resource) => resource.options.replacementTrigger !== undefined).map((resource) => resource.name);
        assert.deepEqual(changedTrigger, appResources.sort());
        assert.ok(appResources.some((name) => name === "app-0") && appResources.includes("app-health-gate"));

        for (const root of ["salt-master", "salt-states", "net"]) {
            for (const resource of descendants(testA, root)) {
                assert.deepEqual(reveal(b.get(resource.name)?.inputs), reveal(resource.inputs), `${resource.name} is untouched by a new commit`);
            }
        }
        const minionParts = descendants(testA, "build-minion").filter((resource) => resource.name !== "build-minion-build");
        for (const resource of minionParts) {
            assert.deepEqual(reveal(b.get(resource.name)?.inputs), reveal(resource.inputs), `${resource.name} is untouched by a new commit`);
        }
        assert.notDeepEqual(reveal(b.get("build-minion-build")?.inputs), reveal(a.get("build-minion-build")?.inputs), "the build reruns");
    });

    it("gives every app server its own minion id per release, seeded on the master with the release's pillar before the server exists", () => {
        const ids = (run: OfflineRun) => instances(run).filter((instance) => instance.parent === "app")
            .map((instance) => (reveal(instance.inputs.metadata) as Record<string, string>)["holodeck-minion-id"]);
        const [idsA, idsB] = [ids(testA), ids(testB)];
        assert.equal(new Set([...idsA, ...idsB]).size, 6, "unique across servers and releases");
        for (const id of idsA) assert.match(id, /^holodeck-hello-test-[0-9a-f]{12}-\d$/);
        const a = byName(testA);
        for (let index = 0; index < 3; index++) {
            assert.deepEqual(a.get(`app-${index}`)?.options.dependsOn, [`app-${index}-minion-key-seed`, "app-pillar"]);
            const seed = reveal(a.get(`app-${index}-minion-key-seed`)?.inputs) as { create: string; delete: string };
            assert.match(seed.create, new RegExp(`/etc/salt/pki/master/minions/${idsA[index]} && `));
            assert.equal(seed.delete, `sudo bash -c ${shellQuote(minionKeyDeleteScript(idsA[index], masterServerId))}`, "removed the Salt way, on its own master only");
        }
        const pillar = a.get("app-pillar");
        assert.deepEqual(pillar?.options.dependsOn, ["salt-states-install"], "the state tree is on the master first");
        const release = idsA[0].replace(/-0$/, "");
        const pillarPath = `/srv/pillar/releases/${release}.sls`;
        assert.deepEqual(reveal({ create: pillar?.inputs.create, delete: pillar?.inputs.delete }), {
            create: `sudo install -D -o salt -g salt -m 0640 /dev/stdin ${pillarPath}`,
            delete: `sudo bash -c ${shellQuote(pillarDeleteScript(pillarPath, masterServerId))}`,
        });
        const gate = a.get("app-health-gate");
        assert.deepEqual([...(gate?.options.dependsOn ?? [])].sort(), ["app-0", "app-1", "app-2"]);
    });

    it("gives a replaced master its state tree, pillar, minion keys and check runner anew, and keeps the app servers", () => {
        const a = byName(testA);
        for (const name of ["salt-states-install", "checks-runner", "app-pillar", "app-0-minion-key-seed", "app-2-minion-key-seed"]) {
            assert.ok((reveal(a.get(name)?.inputs.triggers) as string[] | undefined)?.includes(masterServerId), `${name} is triggered by the master's server id`);
        }
        for (const name of ["app-0", "app-2", "app-0-minion-key"]) {
            assert.doesNotMatch(JSON.stringify(a.get(name)?.options.replacementTrigger), new RegExp(masterServerId), `${name} stays when the master is replaced`);
        }
    });

    it("opens SSH and Salt's ports to no one but the admin CIDR and the minions", () => {
        const rules = ofType(testA, "openstack:networking/secGroupRule:SecGroupRule").map((rule) => reveal(rule.inputs) as Record<string, unknown>);
        assert.ok(rules.length >= 3);
        for (const rule of rules) {
            const [min, max] = [Number(rule.portRangeMin), Number(rule.portRangeMax)];
            const sensitive = [22, 4505, 4506].filter((port) => port >= min && port <= max);
            assert.notEqual(rule.remoteIpPrefix, "0.0.0.0/0");
            assert.notEqual(rule.remoteIpPrefix, "::/0");
            if (sensitive.includes(22)) assert.equal(rule.remoteIpPrefix, adminCidr);
            if (sensitive.includes(4505) || sensitive.includes(4506)) {
                assert.equal(rule.remoteIpPrefix, undefined);
                assert.equal(rule.remoteGroupId, "net-app-servers-id", "Salt only from the app servers' group");
            }
        }
    });

    it("keeps keys, credentials and download URLs secret", () => {
        for (const instance of instances(testA).filter((resource) => resource.name !== "build-minion-host-server")) {
            assert.ok(isSecretValue(instance.inputs.userData), `${instance.name}'s user data (keys) is secret`);
        }
        for (const key of ofType(testA, "tls:index/privateKey:PrivateKey")) {
            assert.ok(key.options.additionalSecretOutputs?.includes("privateKeyPem"), `${key.name}'s private key is a secret output`);
        }
        assert.ok(isSecretValue(byName(testA).get("build-minion-build")?.inputs.stdin), "the upload credential is secret");
        assert.ok(isSecretValue((testA.outputs.artifact as Record<string, unknown>).url), "the artifact's temporary URL is secret");
        assert.ok(isSecretValue(byName(testA).get("app-pillar")?.inputs.stdin), "the release's pillar (app secrets, URL) is secret");
        const plainOutputs = JSON.stringify(reveal(testA.outputs, true));
        assert.doesNotMatch(plainOutputs, /PRIVATE KEY|temp_url_sig|offline-.*-secret|t0ps3cret/);
        for (const instance of instances(testA)) {
            assert.doesNotMatch(String(reveal(instance.inputs.userData)), /t0ps3cret|Hello from test/, `${instance.name}'s user data holds no app config or secret`);
        }
    });

    it("gives every server user data that cloud-init's own schema check accepts", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-userdata-"));
        try {
            for (const instance of instances(testA)) {
                const file = path.join(dir, `${instance.name}.yaml`);
                fs.writeFileSync(file, String(reveal(instance.inputs.userData)));
                const check = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
                assert.equal(check.status, 0, `${instance.name}: ${check.stdout}${check.stderr}`);
                assert.match(check.stdout, /Valid cloud-config/);
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("runs the functional checks on the master against every new server, after the health gate", async () => {
        const a = byName(testA);
        const run = a.get("checks-servers");
        assert.equal(run?.parent, "checks");
        assert.deepEqual(run?.options.dependsOn, ["checks-runner", "app-health-gate"]);
        const script = String(reveal(run?.inputs.create));
        const addresses = (reveal(testA.outputs) as { serverAddresses: string[] }).serverAddresses;
        const commandLine = script.split("\n").pop() ?? "";
        assert.deepEqual([...commandLine.matchAll(/--target (\S+)/g)].map(([, target]) => target), addresses.map((address) => `http://${address}:8000`));
        assert.match(commandLine, /--var VERSION=1\.0\.0 /, "the version /health must report");
        assert.ok(script.includes(fs.readFileSync(path.join(__dirname, "..", "examples", "hello", "holodeck-checks.yaml"), "utf8").trim()), "the check file, as configured");
        const runner = a.get("checks-runner");
        assert.equal(reveal(runner?.inputs.remotePath), "/home/debian/holodeck-check.js");
        // A file, as CopyToRemote needs: the bundle the tests run outside the repository.
        assert.equal(await (runner?.inputs.source as { path?: Promise<string> }).path, runnerFile);
        assert.equal(fs.readFileSync(runnerFile, "utf8"), bundleChecker());
        assert.deepEqual(reveal(run?.inputs.triggers), [(reveal(testA.outputs) as { releaseId: string }).releaseId, ...(reveal(run?.inputs.triggers) as string[]).slice(1)]);
        assert.notDeepEqual(reveal(byName(testB).get("checks-servers")?.inputs.triggers), reveal(run?.inputs.triggers), "a new release is checked anew");
    });

    it("exports what the prod stack and others consume", () => {
        const outputs = reveal(testA.outputs) as Record<string, unknown>;
        const artifact = outputs.artifact as Record<string, string>;
        assert.equal(artifact.commit, commitA);
        assert.match(artifact.sha256, /^[0-9a-f]{64}$/);
        assert.match(String(outputs.releaseId), /^[0-9a-f]{12}$/, "keyed: tests/store.test.ts checks how");
        assert.equal((outputs.serverAddresses as string[]).length, 3);
        assert.equal(outputs.verified, true);
        assert.deepEqual(outputs.verification, {
            sha256: artifact.sha256, commit: commitA, passed: true, checks: 9, failures: 0, at: "2026-01-02T03:04:05.000Z",
        }, "three checks against each of three servers, as the check runs reported");
    });

    describe("with the Docker form (artifactFormats [deb, docker])", () => {
        const registryPassword = "r3gistry-pa55word";
        const dockerConfig = {
            ...testConfig, "holodeck:artifactFormats": '["deb","docker"]', "holodeck:imageRepository": "registry.example.com/team/hello",
            "holodeck:registryUsername": "ci-pusher", "holodeck:registryPassword": registryPassword,
        };
        let docker: OfflineRun;
        before(async () => {
            docker = await runOffline(program, { project: "holodeck", stack: "test", config: dockerConfig });
        });

        it("builds and pushes the image on the build minion, after the .deb, with the password on stdin only", () => {
            const image = byName(docker).get("build-minion-image");
            assert.ok(image, "an image command on the build minion");
            assert.equal(image.parent, "build-minion");
            assert.deepEqual(image.options.dependsOn, ["build-minion-build"]);
            assert.ok(isSecretValue(image.inputs.stdin));
            assert.equal(reveal(image.inputs.stdin), `${registryPassword}\n`);
            const script = String(reveal(image.inputs.create));
            assert.doesNotMatch(script, new RegExp(registryPassword));
            assert.match(script, /--image registry\.example\.com\/team\/hello:1\.0\.0_git\.3f78685 --push --username ci-pusher$/);
            // The .deb was built on Debian 12: the image starts from Debian 12's official image.
            assert.match(script, /^FROM debian:12-slim$/m);
            const minion = byName(docker).get("build-minion-host-server");
            assert.match(String(reveal(minion?.inputs.userData)), /- docker\.io/);
            assert.ok(byName(docker).has("build-minion-holodeck-image"), "holodeck-image is copied to the minion");
            assert.equal(byName(testA).has("build-minion-holodeck-image"), false, "and only when images are built");
            assert.equal(byName(testA).has("build-minion-image"), false);
        });

        it("writes the rendered Dockerfile on the minion and hands holodeck-image the password on stdin", () => {
            const image = byName(docker).get("build-minion-image")!;
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-image-script-"));
            try {
                // The minion's sudo, standing in: records what holodeck-image would get.
                fs.writeFileSync(path.join(dir, "sudo"), [
                    "#!/bin/bash",
                    "[[ $1 == install ]] && exit 0",
                    "shift",
                    'printf "%s\\n" "$@" >"$CAPTURE/args"',
                    'while (($#)); do [[ $1 == --dockerfile ]] && cp "$2" "$CAPTURE/Dockerfile"; shift; done',
                    'cat >"$CAPTURE/stdin"',
                    "",
                ].join("\n"), { mode: 0o755 });
                const result = spawnSync("bash", ["-c", String(reveal(image.inputs.create))], {
                    input: String(reveal(image.inputs.stdin)), encoding: "utf8",
                    env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, CAPTURE: dir, HOME: dir, TMPDIR: dir },
                });
                assert.equal(result.status, 0, result.stderr);
                const dockerfile = fs.readFileSync(path.join(dir, "Dockerfile"), "utf8");
                assert.match(dockerfile, /^FROM debian:12-slim\n/m);
                assert.match(dockerfile, /^LABEL org\.opencontainers\.image\.title="holodeck-hello"/m);
                const artifact = (reveal(docker.outputs) as { artifact: { sha256: string } }).artifact;
                assert.ok(dockerfile.includes(`io.holodeck.deb.sha256="${artifact.sha256}"`));
                assert.equal(fs.readFileSync(path.join(dir, "stdin"), "utf8"), `${registryPassword}\n`);
                assert.equal(fs.readFileSync(path.join(dir, "args"), "utf8").split("\n")[0], "--dockerfile");
                assert.deepEqual(fs.readdirSync(dir).filter((file) => file.startsWith("tmp.")), [], "the Dockerfile's temporary file is removed");
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });

        it("exports the image by digest next to the .deb it wraps", () => {
            const artifact = (reveal(docker.outputs) as { artifact: { image: Record<string, string> } }).artifact;
            assert.match(artifact.image.digest, /^sha256:[0-9a-f]{64}$/);
            assert.equal(artifact.image.repoDigest, `registry.example.com/team/hello@${artifact.image.digest}`);
            assert.equal(artifact.image.image, "registry.example.com/team/hello:1.0.0_git.3f78685");
            assert.equal((reveal(testA.outputs) as { artifact: { image?: unknown } }).artifact.image, undefined);
        });

        it("prod promotes the image's digest, never building", async () => {
            const exported = reveal(docker.outputs) as { artifact: Record<string, unknown>; verification: Record<string, unknown> };
            const prod = await runOffline(program, {
                project: "holodeck", stack: "prod", config: { ...prodConfig, "holodeck:artifactFormats": '["deb","docker"]' },
                cloud: { stackOutputs: { "acme/holodeck/test": { artifact: exported.artifact, verification: exported.verification } } },
            });
            assert.equal(ofType(prod, "holodeck:index:BuildMinion").length, 0);
            assert.equal(ofType(prod, "command:remote:Command").some((command) => command.name.includes("image")), false);
            assert.deepEqual((reveal(prod.outputs) as { artifact: { image: unknown } }).artifact.image, exported.artifact.image);
        });

        it("prod refuses, before creating anything, when the test stack pushed no image", async () => {
            const registered: string[] = [];
            await assert.rejects(runOffline(program, {
                project: "holodeck", stack: "prod", config: { ...prodConfig, "holodeck:artifactFormats": '["deb","docker"]' },
                cloud: { stackOutputs: { "acme/holodeck/test": verifiedArtifact } }, registered,
            }), /refusing to promote: holodeck:artifactFormats has docker, but stack acme\/holodeck\/test exports no pushed image for artifact (ab){32}; add docker to that stack's holodeck:artifactFormats/);
            assert.deepEqual(registered, ["pulumi:pulumi:StackReference::acme/holodeck/test"]);
        });
    });

    describe("the prod stack", () => {
        it("promotes the artifact the test stack verified, without building", async () => {
            const prod = await runOffline(program, {
                project: "holodeck", stack: "prod", config: prodConfig, cloud: { stackOutputs: { "acme/holodeck/test": verifiedArtifact } },
            });
            assert.equal(ofType(prod, "holodeck:index:BuildMinion").length, 0);
            assert.equal(ofType(prod, "holodeck:index:ArtifactStore").length, 1, "its own store, the release copied in (tests/store.test.ts)");
            const outputs = reveal(prod.outputs) as { artifact: { sha256: string }; releaseId: string };
            assert.equal(outputs.artifact.sha256, verifiedArtifact.artifact.sha256);
            const members = ofType(prod, "openstack:loadbalancer/member:Member");
            assert.equal(members.length, 2);
            for (const member of members) {
                assert.deepEqual(member.options.dependsOn, ["checks-servers"], "members join after the servers passed their checks");
                assert.equal(member.options.replacementTrigger, outputs.releaseId);
            }
            const resources = byName(prod);
            assert.equal(resources.get("balancer-pool")?.options.replacementTrigger, outputs.releaseId, "each release gets its own pool");
            assert.equal(resources.get("balancer-http")?.options.replacementTrigger, undefined, "the listener stays, and switches pools in place");
            assert.deepEqual(resources.get("balancer-http")?.options.dependsOn, members.map((member) => member.name), "once the members are in");
            assert.deepEqual(resources.get("checks-load-balancer")?.options.dependsOn, ["checks-runner", "balancer-http"], "the balancer is checked once it serves the release");
            assert.match(String(reveal(resources.get("checks-load-balancer")?.inputs.create)), /--target http:\/\/10\.80\.0\.\d+:80 /);
            assert.deepEqual(reveal(prod.outputs.verification), { sha256: outputs.artifact.sha256, commit: commitA, passed: true, checks: 9, failures: 0, at: "2026-01-02T03:04:05.000Z" },
                "two servers and the balancer, three checks each");
        });

        it("lets the load balancer reach the servers from their subnet's own CIDR, an existing network's too", async () => {
            const cloud = { stackOutputs: { "acme/holodeck/test": verifiedArtifact } };
            const lbRule = (run: OfflineRun) => reveal(ofType(run, "openstack:networking/secGroupRule:SecGroupRule")
                .find((rule) => String(reveal(rule.inputs.description)).includes("load balancer members"))?.inputs) as Record<string, unknown>;
            const created = await runOffline(program, { project: "holodeck", stack: "prod", config: prodConfig, cloud });
            assert.deepEqual([lbRule(created).remoteIpPrefix, lbRule(created).portRangeMin], ["10.80.0.0/24", 8000]);
            const existing = await runOffline(program, {
                project: "holodeck", stack: "prod", cloud,
                config: { ...prodConfig, "holodeck:networkId": "0d2c4e6f-8a1b-4c3d-9e5f-7a6b8c9d0e1f", "holodeck:networkCidr": "10.99.0.0/24" },
            });
            assert.equal(lbRule(existing).remoteIpPrefix, "172.16.40.0/24", "the existing subnet's CIDR, as OpenStack reports it, not holodeck:networkCidr");
            assert.equal(lbRule(testA), undefined, "no such rule without a load balancer");
        });

        const refusals: [string, Record<string, unknown>, Record<string, string>, RegExp][] = [
            ["an artifact that failed its checks", { ...verifiedArtifact, verification: { ...verifiedArtifact.verification, passed: false, failures: 3 } }, {},
                /refusing to promote artifact a{0}b{0}(ab){32} \(commit 3f7868.*\): stack acme\/holodeck\/test has not verified it \(it reports passed=false, sha256=(ab){32}, 9 functional checks, 3 failed, at 2026-11-25T10:00:00Z\)/],
            ["an artifact without any verification", { artifact: verifiedArtifact.artifact }, {},
                /has not verified it \(it reports no verification at all\); deploy it in the test stack \(with holodeck:checkFile\) and let its checks pass first/],
            ["an artifact that ran no functional checks", { ...verifiedArtifact, verification: { ...verifiedArtifact.verification, checks: 0 } }, {},
                /has not verified it \(it reports passed=true, sha256=(ab){32}, 0 functional checks, 0 failed, at .*\); deploy it in the test stack \(with holodeck:checkFile\)/],
            ["an artifact verified before functional checks existed", { ...verifiedArtifact, verification: { ...verifiedArtifact.verification, checks: undefined, failures: undefined } }, {},
                /it reports passed=true, sha256=(ab){32}, no functional checks, no failed/],
            ["an artifact verified under another sha256", { ...verifiedArtifact, verification: { ...verifiedArtifact.verification, sha256: "cd".repeat(32) } }, {},
                /has not verified it \(it reports passed=true, sha256=(cd){32}/],
            ["a stack without an artifact", {}, {}, /stack acme\/holodeck\/test exports no artifact to promote: run `pulumi up` there first/],
            ["an artifact from an older Holodeck", { ...verifiedArtifact, artifact: { ...verifiedArtifact.artifact, projectVersion: undefined } }, {},
                /stack acme\/holodeck\/test's artifact lacks projectVersion: update that stack/],
            ["a commit other than the pinned one", verifiedArtifact, { "holodeck:commit": commitB },
                new RegExp(`stack acme/holodeck/test verified commit ${commitA}, but holodeck:commit pins ${commitB}`)],
        ];
        for (const [what, exported, extraConfig, message] of refusals) {
            it(`refuses ${what}, before creating anything`, async () => {
                const registered: string[] = [];
                await assert.rejects(runOffline(program, {
                    project: "holodeck", stack: "prod", config: { ...prodConfig, ...extraConfig },
                    cloud: { stackOutputs: { "acme/holodeck/test": exported } }, registered,
                }), message);
                assert.deepEqual(registered, ["pulumi:pulumi:StackReference::acme/holodeck/test"], "only the test stack's outputs were read");
            });
        }
    });

    it("fails on bad configuration with every problem named, before anything is created", async () => {
        const registered: string[] = [];
        await assert.rejects(
            runOffline(program, {
                project: "holodeck", stack: "test", registered,
                config: { ...testConfig, "holodeck:commit": "main", "holodeck:adminCidr": "0.0.0.0/0", "holodeck:appConfig": "" },
            }),
            /invalid stack configuration:\n {2}- holodeck:commit 'main' is not a full 40-hex commit SHA[\s\S]*holodeck:adminCidr '0.0.0.0\/0' would open SSH[\s\S]*holodeck:appConfig is required: the holodeck Salt state renders/,
        );
        assert.deepEqual(registered, []);
    });
});
