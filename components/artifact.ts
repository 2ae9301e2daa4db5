import * as pulumi from "@pulumi/pulumi";
import { createHmac } from "node:crypto";
import { InputError } from "../lib/errors";
import { Manifest, objectName } from "../lib/holoMaker";

/** What the rest of the program (and the prod stack) consumes of a release. */
export interface Release {
    /** Commit the .deb was built from. */
    readonly commit: string;
    /** Debian version of the package. */
    readonly version: string;
    /** Version the app reports on /health. */
    readonly projectVersion: string;
    /** sha256 of the .deb: the release's identity. */
    readonly sha256: string;
    /** Download URL of the .deb (a temporary URL: treat it as a secret). */
    readonly url: string;
    /** Debian package name. */
    readonly packageName: string;
    /** The Docker image that wraps the .deb, where the release has that form. */
    readonly image?: PushedImage;
}

/** A release's Docker image as the registry holds it. */
export interface PushedImage {
    /** REPOSITORY:TAG it was pushed as (a tag can move: deploy by repoDigest). */
    readonly image: string;
    /** Manifest digest in the registry: sha256:... */
    readonly digest: string;
    /** REPOSITORY@DIGEST: the reference that always names these bytes. */
    readonly repoDigest: string;
}

/**
 * The id of a release: the artifact together with its environment's configuration, so a new
 * commit and a new configuration alike make new servers (nothing is reconfigured in place).
 * 12 hex digits of an HMAC-SHA256 keyed with the stack's own secret `key` (hex): the id names
 * servers and shows in outputs, and without the key it confirms no guess at the secrets in it.
 */
export function releaseId(key: string, sha256: string, config: Readonly<Record<string, string>>, secrets: Readonly<Record<string, string>>): string {
    if (!/^([0-9a-f]{2}){16,}$/.test(key)) throw new Error("the release id key must be at least 16 bytes, in hex");
    const canonical = (settings: Readonly<Record<string, string>>) => JSON.stringify(Object.entries(settings).sort(([a], [b]) => (a < b ? -1 : 1)));
    return createHmac("sha256", Buffer.from(key, "hex")).update(`${sha256}\n${canonical(config)}\n${canonical(secrets)}`).digest("hex").slice(0, 12);
}


/** The name a promoted release's .deb gets in this stack's store: the name it has in the source store. */
export function promotedObjectName(sourceUrl: string): string {
    let name = "";
    try {
        name = decodeURIComponent(new URL(sourceUrl).pathname.split("/").pop() ?? "");
    } catch {
        // Reported below, as any other URL that names no .deb.
    }
    if (!objectName.test(name) || !name.endsWith(".deb")) {
        throw new InputError(`the promoted release's URL does not end in a .deb file name (it ends in '${name}'): update the stack it comes from with this version of Holodeck`);
    }
    return name;
}

/** The verdict the test stack exports next to its artifact. */
export interface Verification {
    readonly sha256: string;
    readonly commit: string;
    /** Whether the release passed the health gate and every functional check. */
    readonly passed: boolean;
    /** (check, target) pairs the functional checks ran, and how many failed. */
    readonly checks: number;
    readonly failures: number;
    readonly at: string;
}

/**
 * Checks what another stack exports before prod deploys it: there must be an artifact, verified
 * for that very sha256, and from the pinned commit when prod pins one. Throws with what the
 * other stack reported and how to fix it.
 */
export function checkPromotion(fromStack: string, artifact: unknown, verification: unknown, pinnedCommit: string, wantImage = false): Release {
    const release = artifact as Partial<Release> | undefined;
    if (!release) throw new InputError(`stack ${fromStack} exports no artifact to promote: run \`pulumi up\` there first (or set holodeck:promoteFrom)`);
    const fields: (keyof Release)[] = ["commit", "version", "projectVersion", "sha256", "url", "packageName"];
    const missing = fields.filter((field) => typeof release[field] !== "string" || release[field] === "");
    if (missing.length > 0) {
        throw new InputError(`stack ${fromStack}'s artifact lacks ${missing.join(", ")}: update that stack with this version of Holodeck first`);
    }
    const verdict = verification as Partial<Verification> | undefined;
    if (!verdict || verdict.passed !== true || verdict.sha256 !== release.sha256 || !(typeof verdict.checks === "number" && verdict.checks > 0)) {
        const reported = verdict
            ? `passed=${verdict.passed}, sha256=${verdict.sha256}, ${verdict.checks ?? "no"} functional checks, ${verdict.failures ?? "no"} failed, at ${verdict.at}`
            : "no verification at all";
        throw new InputError(
            `refusing to promote artifact ${release.sha256} (commit ${release.commit}): stack ${fromStack} has not verified it (it reports ${reported}); `
            + "deploy it in the test stack (with holodeck:checkFile) and let its checks pass first",
        );
    }
    if (pinnedCommit && release.commit !== pinnedCommit) {
        throw new InputError(
            `refusing to promote: stack ${fromStack} verified commit ${release.commit}, but holodeck:commit pins ${pinnedCommit}; `
            + "deploy the pinned commit to the test stack first, or update the pin",
        );
    }
    promotedObjectName(release.url!);
    const { image, ...deb } = release as Release;
    if (!wantImage) return deb;
    if (typeof image?.repoDigest !== "string" || !/@sha256:[0-9a-f]{64}$/.test(image.repoDigest) || !image.repoDigest.endsWith(`@${image.digest}`)) {
        throw new InputError(
            `refusing to promote: holodeck:artifactFormats has docker, but stack ${fromStack} exports no pushed image for artifact ${release.sha256}; `
            + "add docker to that stack's holodeck:artifactFormats (with holodeck:imageRepository) and update it, or remove docker here",
        );
    }
    return { ...deb, image: { image: image.image, digest: image.digest, repoDigest: image.repoDigest } };
}

export type ArtifactArgs =
    /** Built by this stack's build minion, downloadable at `url`, with its image where one was pushed. */
    | { readonly manifest: pulumi.Input<Manifest>; readonly url: pulumi.Input<string>; readonly image?: pulumi.Output<PushedImage> }
    /** Verified by another stack, checked with `checkPromotion`, copied into this stack's store and downloadable at `url`. */
    | { readonly promoted: Release; readonly url: pulumi.Input<string> };

/** The artifact the app servers install: commit, version, sha256 and this stack's URL of it, built or promoted. */
export class Artifact extends pulumi.ComponentResource {
    readonly commit: pulumi.Output<string>;
    readonly version: pulumi.Output<string>;
    readonly projectVersion: pulumi.Output<string>;
    readonly sha256: pulumi.Output<string>;
    /** Download URL: a secret, since a temporary URL is a bearer credential. */
    readonly url: pulumi.Output<string>;
    readonly packageName: pulumi.Output<string>;
    /** The Docker image of the release, where it has that form. */
    readonly image?: pulumi.Output<PushedImage>;

    constructor(name: string, args: ArtifactArgs, opts?: pulumi.ComponentResourceOptions) {
        super("holodeck:index:Artifact", name, {}, opts);
        const release: pulumi.Output<Omit<Release, "url">> = "promoted" in args
            ? pulumi.output(args.promoted)
            : pulumi.output(args.manifest).apply((manifest) => ({
                commit: manifest.commit,
                version: manifest.version,
                projectVersion: manifest.projectVersion,
                sha256: manifest.sha256,
                packageName: manifest.name,
            }));
        this.commit = release.commit;
        this.version = release.version;
        this.projectVersion = release.projectVersion;
        this.sha256 = release.sha256;
        this.packageName = release.packageName;
        this.url = pulumi.secret(args.url);
        const image = "promoted" in args ? args.promoted.image : args.image;
        if (image) this.image = pulumi.output(image);
        this.registerOutputs({ commit: this.commit, version: this.version, sha256: this.sha256, url: this.url, image: this.image });
    }
}
