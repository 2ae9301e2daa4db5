// Holodeck's Pulumi program: a Salt master, the artifact (built on a build minion in the test and
// local stacks, promoted from the test stack in prod), and the app servers of the release behind a
// health gate, the functional checks and a balancer, on the substrate the stack names (OpenStack,
// or this machine's Docker engine).
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { AppServers, CanaryGroup } from "./components/appServers";
import { Artifact, checkPromotion, Release, releaseId } from "./components/artifact";
import { BuildMinion } from "./components/buildMinion";
import { Docker } from "./components/docker";
import { FunctionalChecks, Verdict } from "./components/functionalChecks";
import { existingSubnet } from "./components/network";
import { OpenStack } from "./components/openStack";
import { SaltMaster } from "./components/saltMaster";
import { SaltStateTree } from "./components/saltStateTree";
import { Substrate } from "./components/substrate";
import { localRepository } from "./lib/holoMaker";
import { keepRelease, KeptReleases, parseKeptReleases } from "./lib/keptReleases";
import { builderScripts, checkerRunner, readStateTree } from "./lib/repoFiles";
import { renderReleasePillar } from "./lib/salt";
import { HolodeckConfig, loadConfig, PromotedRelease } from "./config";

/** The substrate the stack's configuration names: the one place that tells them apart. */
async function substrateFor(config: HolodeckConfig, adminKey: tls.PrivateKey): Promise<Substrate> {
    const { substrate: settings, infra, app } = config;
    if (settings.kind === "docker") {
        // The build minion sees the repository and the wheel directories of this machine it builds from.
        const build = config.release.kind === "build" ? config.release.build : undefined;
        const buildMounts = build ? [localRepository(build.repo), ...build.findLinks.filter((links) => links.startsWith("/"))] : [];
        return new Docker({
            stack: pulumi.getStack(),
            serverImage: settings.serverImage,
            networkCidr: infra.networkCidr,
            adminPublicKey: adminKey.publicKeyOpenssh,
            adminPrivateKey: adminKey.privateKeyOpenssh,
            sshUser: infra.sshUser,
            buildMounts: buildMounts.filter((mount): mount is string => mount !== undefined),
        });
    }
    return new OpenStack({
        ...settings,
        existing: settings.networkId ? await existingSubnet(settings.networkId) : undefined,
        adminPublicKey: adminKey.publicKeyOpenssh,
        adminPrivateKey: adminKey.privateKeyOpenssh,
        sshUser: infra.sshUser,
        networkCidr: infra.networkCidr,
        appPort: app.port,
        appCidr: app.allowedCidr,
        loadBalancer: app.loadBalancer,
    });
}

/** The verified releases the stack kept at its last update (its own `keptReleases` output), before any resource is created. */
async function keptReleases(): Promise<KeptReleases> {
    const self = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
    const exported = await new pulumi.StackReference(self).getOutputDetails("keptReleases");
    try {
        return parseKeptReleases(exported.value);
    } catch (error) {
        throw new pulumi.RunError(`${(error as Error).message}: run one \`pulumi up\` with holodeck:keepReleases 0 to start the list afresh`);
    }
}

/** Reads and checks what prod promotes, before any resource is created. */
async function promotedRelease(release: PromotedRelease): Promise<Release> {
    const source = new pulumi.StackReference(release.fromStack);
    const [artifact, verification] = await Promise.all([source.getOutputDetails("artifact"), source.getOutputDetails("verification")]);
    return checkPromotion(
        release.fromStack,
        artifact.value ?? artifact.secretValue,
        verification.value ?? verification.secretValue,
        release.pinnedCommit,
        release.image,
    );
}

export = async () => {
    const config = loadConfig();
    const { infra, app } = config;
    const stack = pulumi.getStack();
    const promoted = config.release.kind === "promote" ? await promotedRelease(config.release) : undefined;
    const keep = config.release.kind === "build" ? config.release.keepReleases : 0;
    const kept = keep > 0 ? await keptReleases() : { releases: [], built: "" };
    const builder = builderScripts();

    const adminKey = new tls.PrivateKey("admin-ssh", { algorithm: "ED25519" }, {
        additionalSecretOutputs: ["privateKeyPem", "privateKeyOpenssh", "privateKeyPemPkcs8"],
    });
    const substrate = await substrateFor(config, adminKey);
    const master = new SaltMaster("salt-master", { substrate, saltVersion: infra.saltVersion });

    // Each stack keeps its releases in a store of its own: prod never depends on test's.
    const store = substrate.artifactStore("artifacts");
    const minion = config.release.kind === "build" ? new BuildMinion("build-minion", {
        substrate,
        build: config.release.build,
        indexUrl: config.release.indexUrl,
        store,
        builder,
        image: config.release.image,
        appPort: app.port,
        kept,
    }) : undefined;
    // Promoted: the master reaches both stores, and the .deb is stored here only if its sha256 is the verified one.
    const artifact = minion
        ? new Artifact("artifact", { manifest: minion.manifest, url: store.downloadUrl(minion.manifest.file), image: minion.image })
        : new Artifact("artifact", { promoted: promoted!, url: store.downloadUrl(store.copyIn(promoted!, master, builder.publish)) });

    const stateTree = new SaltStateTree("salt-states", { master, files: readStateTree() });
    // Keyed with a secret of the stack's own, the id confirms no guess at the secrets: it may be
    // shown, and names servers. The key stays for the stack's life.
    const releaseKey = new random.RandomBytes("release-id-key", { length: 32 });
    const release = pulumi.unsecret(pulumi.all([releaseKey.hex, artifact.sha256, app.secrets]).apply(
        ([key, sha256, secrets]) => releaseId(key, sha256, app.config, secrets),
    ));
    const pillar = pulumi.secret(pulumi.all([artifact.packageName, release, artifact.version, artifact.sha256, artifact.url, app.secrets]).apply(
        ([packageName, id, version, sha256, url, secrets]) => renderReleasePillar({
            app: packageName, releaseId: id, version, sha256, url, config: app.config, secrets,
        }),
    ));

    // Gates in order: /health, the functional checks on the servers, then the load balancer
    // switches to them and is checked too. Each failure fails the update: the old servers stay.
    // With a canary, its servers pass the same gates and a trial beside the live release first.
    const checks = app.checks && new FunctionalChecks("checks", {
        master,
        runner: checkerRunner(),
        spec: app.checks.text,
        variables: artifact.projectVersion.apply((version) => ({ VERSION: version })),
        releaseId: release,
    });
    const urls = (addresses: pulumi.Output<string[]>) => addresses.apply((all) => all.map((address) => `http://${address}:${app.port}`));
    const balancer = app.loadBalancer ? substrate.balancer("balancer") : undefined;
    const canary = balancer && app.canary > 0 ? {
        count: app.canary,
        trial: ({ addresses, healthGate }: CanaryGroup) => balancer.tryCanary({
            releaseId: release,
            addresses,
            port: app.port,
            soakSeconds: app.canarySoakSeconds,
            admitAfter: [checks ? checks.check("canary", urls(addresses), [healthGate]) : healthGate],
        }),
    } : undefined;

    const servers = new AppServers("app", {
        substrate,
        count: app.serverCount,
        stack,
        app: artifact.packageName,
        releaseId: release,
        pillar,
        stateTree,
        projectVersion: artifact.projectVersion,
        port: app.port,
        healthTimeoutSeconds: app.healthTimeoutSeconds,
        saltVersion: infra.saltVersion,
        master,
        canary,
    });
    const serverGate = checks ? checks.check("servers", urls(servers.addresses), [servers.healthGate]) : servers.healthGate;
    if (balancer) {
        const serving = balancer.serve({ releaseId: release, servers, port: app.port, admitAfter: [serverGate] });
        checks?.check("load-balancer", balancer.vipAddress.apply((vip) => [`http://${vip}:${balancer.port}`]), [serving]);
    }
    // Reached only when every gate passed; without a check file, the health gate is all there is.
    const verdict: pulumi.Output<Verdict> = checks
        ? checks.verdict()
        : servers.healthGate.stdout.apply(() => ({ passed: true, checks: 0, failures: 0, at: new Date().toISOString() }));
    // Exported only by an update whose gates all passed: the release is verified.
    const keptReleasesAfter = (built: BuildMinion) =>
        pulumi.all([built.manifest, verdict]).apply(([manifest]) => keepRelease(kept, { buildKey: built.buildKey, manifest }, !built.reused, keep));
    return {
        masterAddress: master.publicAddress,
        masterPrivateAddress: master.privateAddress,
        artifact: {
            commit: artifact.commit, version: artifact.version, projectVersion: artifact.projectVersion, packageName: artifact.packageName,
            sha256: artifact.sha256, url: artifact.url, ...(artifact.image ? { image: artifact.image } : {}),
        },
        releaseId: release,
        serverAddresses: servers.addresses,
        minionIds: servers.minionIds,
        ...(balancer ? { loadBalancerAddress: balancer.publicAddress } : {}),
        verified: verdict.passed,
        verification: pulumi.all([artifact.sha256, artifact.commit, verdict]).apply(([sha256, commit, found]) => ({ sha256, commit, ...found })),
        ...(minion && keep > 0 ? { keptReleases: keptReleasesAfter(minion) } : {}),
    };
};
