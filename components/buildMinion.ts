import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { renderBuildMinionUserData } from "../lib/cloudInit";
import { imageArgs, ImageSettings, imageTag, officialBaseImage, parseBuiltImage, renderDockerfile } from "../lib/dockerImage";
import { reportedOn, resourceError } from "../lib/errors";
import { BuildSettings, holodeckBuildCommand, Manifest } from "../lib/holoMaker";
import { heredoc, shellQuote } from "../lib/shell";
import { buildKey, KeptRelease, KeptReleases, standIn } from "../lib/keptReleases";
import { BuilderScripts } from "../lib/repoFiles";
import { PushedImage } from "./artifact";
import { Store, Substrate } from "./substrate";

const releaseDir = "/var/lib/holodeck/releases";
// Wheels built from dependencies' sdists, kept between commits: a warm rebuild reuses them.
const wheelCache = "/var/cache/holodeck-build/wheels";

export interface BuildMinionArgs {
    /** Where the minion's server runs. */
    readonly substrate: Substrate;
    /** What to build: holodeck-build's arguments. */
    readonly build: BuildSettings;
    /** The package index URL with its credentials (secret); required when build.indexUrl is set. */
    readonly indexUrl?: pulumi.Input<string>;
    /** The stack's artifact store: releases are published there. */
    readonly store: Store;
    /** HoloMaker's scripts (`builderScripts`), copied to the minion. */
    readonly builder: BuilderScripts;
    /** Also build the release's Docker image and push it (artifactFormats has docker). */
    readonly image?: ImageSettings;
    /** Port the app listens on: the image exposes it and its HEALTHCHECK asks it. */
    readonly appPort: number;
    /** Verified releases the stack kept: one with this build's key stands in for the build (see `standIn`). */
    readonly kept?: KeptReleases;
}

/**
 * The shell script the minion runs per commit: build, publish with `publish` (the store's
 * command), print the manifest last. Its stdin holds the package index URL first when
 * build.indexUrl is set (it may hold credentials: read into a shell variable and piped to
 * holodeck-build by the printf builtin, it is in no argv, environment or file), then what the
 * publish command reads (its upload credential).
 */
export function buildScript(build: BuildSettings, publish: string): string {
    const builder = "/usr/local/bin/holodeck-build";
    const command = `sudo ${holodeckBuildCommand(build, builder, releaseDir, wheelCache)}`;
    return [
        "set -euo pipefail",
        "sudo install -m 0755 \"$HOME/holodeck-build\" \"$HOME/holodeck-publish\" /usr/local/bin/",
        ...(build.indexUrl
            ? ["IFS= read -r index_url", `manifest=$(printf '%s\\n' "$index_url" | ${command} | tail -n 1)`]
            : [`manifest=$(${command} | tail -n 1)`]),
        publish,
    ].join("\n");
}

/**
 * The shell script the minion runs per release image: the Dockerfile rendered here goes in by
 * heredoc, holodeck-image builds it beside the release's .deb and pushes it, the registry
 * password (if any) on stdin; it prints the pushed image last.
 */
export function imageScript(manifest: Manifest, dockerfile: string, image: string, username: string): string {
    const flags = ["--manifest", `${releaseDir}/${manifest.file}.json`, "--image", image, "--push", ...(username ? ["--username", username] : [])];
    return [
        "set -euo pipefail",
        "sudo install -m 0755 \"$HOME/holodeck-image\" /usr/local/bin/",
        "dockerfile=$(mktemp)",
        "trap 'rm -f \"$dockerfile\"' EXIT",
        heredoc('cat >"$dockerfile"', dockerfile, "HOLODECK_DOCKERFILE_EOF", "the Dockerfile"),
        `sudo /usr/local/bin/holodeck-image --dockerfile "$dockerfile" ${flags.map(shellQuote).join(" ")}`,
    ].join("\n");
}

/** Parses the manifest line the build script prints last. */
export function parseManifest(stdout: string): Manifest {
    const line = stdout.trim().split("\n").pop() ?? "";
    let manifest: Manifest;
    try {
        manifest = JSON.parse(line) as Manifest;
    } catch {
        throw new Error(`the build minion printed no manifest; its last line was: ${line.slice(0, 200)}`);
    }
    if (!/^[0-9a-f]{64}$/.test(manifest.sha256 ?? "")) throw new Error(`the build minion's manifest has no sha256: ${line.slice(0, 200)}`);
    return manifest;
}

/**
 * A server of the app servers' image that runs HoloMaker per commit and publishes the .deb to the
 * artifact store. Only the build command depends on the commit: the server itself stays. A build
 * whose key a kept release has is not run: that release's .deb is in the store already.
 */
export class BuildMinion extends pulumi.ComponentResource {
    /** The manifest of the release built from the configured commit. */
    readonly manifest: pulumi.Output<Manifest>;
    /** What the release is built from (see `buildKey`). */
    readonly buildKey: string;
    /** The kept release reused instead of a build, if any. */
    readonly reused?: KeptRelease;
    /** Floating IP Pulumi reaches it on for SSH. */
    readonly publicAddress: pulumi.Output<string>;
    /** The release's Docker image as pushed, when one was asked for. */
    readonly image?: pulumi.Output<PushedImage>;

    constructor(name: string, args: BuildMinionArgs, opts?: pulumi.ComponentResourceOptions) {
        super("holodeck:index:BuildMinion", name, {}, opts);
        const parent = { parent: this };

        const docker = args.image !== undefined;
        const host = args.substrate.host(`${name}-host`, {
            role: "build-minion",
            userData: ({ sshHostKey }) => pulumi.secret(sshHostKey.apply((hostKey) => renderBuildMinionUserData({ docker, sshHostKey: hostKey }))),
            readyCheck: `command -v git python3 dpkg-deb unshare curl${docker ? " docker" : ""} >/dev/null`,
        }, this);
        this.publicAddress = host.publicAddress;
        const connection = host.connection;

        const shipped = Object.entries({
            "holodeck-build": args.builder.build, "holodeck-publish": args.builder.publish, ...(docker ? { "holodeck-image": args.builder.image } : {}),
        });
        const scriptHashes = shipped.map(([, file]) => file.sha256);
        const scripts = shipped.map(([script, file]) => new command.remote.CopyToRemote(`${name}-${script}`, {
            connection,
            source: new pulumi.asset.FileAsset(file.path),
            remotePath: `/home/${args.substrate.sshUser}/${script}`,
            triggers: [file.sha256, host.serverId],
        }, { ...parent, dependsOn: [host.ready] }));

        if (args.build.indexUrl && args.indexUrl === undefined) {
            throw resourceError("build.indexUrl is set but the index URL itself (indexUrl, a secret) is not given", this);
        }
        this.buildKey = buildKey(args.build, scriptHashes);
        this.reused = args.kept && standIn(args.kept, this.buildKey);
        if (this.reused && args.image) throw resourceError("a kept release cannot stand in for a build that pushes an image too", this);
        // A kept release's .deb is in the store already, and the build would make the same bytes.
        const build = this.reused ? undefined : new command.remote.Command(`${name}-build`, {
            connection,
            create: args.store.publishCommand.apply((publish) => buildScript(args.build, publish)),
            // The index URL and the credential go in on stdin: never in the command line, the environment or a file.
            stdin: pulumi.secret(pulumi.all([args.store.publishStdin, args.build.indexUrl ? args.indexUrl ?? "" : ""]).apply(
                ([credential, indexUrl]) => `${args.build.indexUrl ? `${indexUrl}\n` : ""}${credential}`)),
            triggers: [args.build.commit, ...scriptHashes],
        }, { ...parent, dependsOn: scripts });
        this.manifest = build ? build.stdout.apply(reportedOn(this, parseManifest)) : pulumi.output(this.reused!.manifest);

        if (args.image) {
            const settings = args.image;
            const recipe = this.manifest.apply((manifest) => {
                const dockerfile = renderDockerfile(imageArgs(manifest, args.appPort, settings.baseImage || officialBaseImage(manifest)));
                const image = imageTag(manifest, settings.repository);
                return { script: imageScript(manifest, dockerfile, image, settings.username), image, hash: createHash("sha256").update(dockerfile).digest("hex") };
            });
            const pushed = new command.remote.Command(`${name}-image`, {
                connection,
                create: recipe.script,
                // The password goes in on stdin, like the upload credential.
                stdin: settings.username ? pulumi.secret(settings.password.apply((password) => `${password}\n`)) : undefined,
                // A new .deb, Dockerfile, script or repository makes a new image; the old one stays in the registry.
                triggers: [recipe.image, recipe.hash, ...scriptHashes],
            }, { ...parent, dependsOn: build ? [build] : [] });
            this.image = pushed.stdout.apply(reportedOn(this, (stdout) => {
                const { image, digest, repoDigest } = parseBuiltImage(stdout);
                if (!digest || !repoDigest) throw new Error(`holodeck-image pushed ${image} but printed no digest`);
                return { image, digest, repoDigest };
            }));
        }

        this.registerOutputs({ manifest: this.manifest, publicAddress: this.publicAddress, image: this.image });
    }
}
