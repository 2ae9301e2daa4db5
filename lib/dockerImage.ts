// The Docker form of a release: an image that wraps exactly the release's .deb, installed with
// apt on the Debian it was built for. The Dockerfile is rendered here (the build minion builds
// it); tools/docker.ts builds and runs such images with the local engine.
import type * as pulumi from "@pulumi/pulumi";
import { Manifest } from "./holoMaker";
import { stateDefaults } from "./salt";
import { shellQuote } from "./shell";

// Docker 20.10 has no --start-interval: the interval is also how soon a new container is healthy.
const healthcheck = "--interval=5s --timeout=3s --start-period=10s --retries=3";
// Every line the Dockerfile's own checks fail with starts so; build errors quote those lines.
export const errorPrefix = "holodeck-image: error: ";

/** The Docker image the test stack builds on its build minion and pushes. */
export interface ImageSettings {
    /** Repository pushed to, without a tag: registry.example.com/team/app (Docker Hub: team/app). */
    readonly repository: string;
    /** Image the .deb is installed on; "" for the official image of the build minion's distribution. */
    readonly baseImage: string;
    /** Registry login; "" pushes without logging in (a registry that trusts the build minion). */
    readonly username: string;
    /** Its password or token: a Pulumi secret from the moment it is read. */
    readonly password: pulumi.Output<string>;
}

/** Inputs of {@link renderDockerfile}. */
export interface DockerfileArgs {
    /** Image to install the .deb on: the Debian release the .deb was built on (its Depends pin that Python). */
    readonly baseImage: string;
    /** File name of the .deb in the build context. */
    readonly debFile: string;
    /** The .deb's sha256 from the release's manifest; the build refuses other bytes. */
    readonly sha256: string;
    /** Debian package name: also the service user its postinst creates. */
    readonly packageName: string;
    /** Debian version of the package. */
    readonly version: string;
    /** Full git commit the release was built from. */
    readonly commit: string;
    /** TCP port the service listens on inside the container. */
    readonly port: number;
    /** The service's argv, its console script by absolute path first. */
    readonly command: readonly string[];
    /** Where the service reads its INI configuration ($HOLODECK_CONFIG), mounted at run time. */
    readonly configPath: string;
    /** Distribution the .deb was built on (os-release ID): the base image must be the same. */
    readonly osId: string;
    /** Its version (os-release VERSION_ID). */
    readonly osVersion: string;
}

function check(field: string, value: string, pattern: RegExp): void {
    if (!pattern.test(value)) throw new Error(`renderDockerfile: ${field} ${JSON.stringify(value)} does not match ${pattern}`);
}

/**
 * The Dockerfile of a release's image. The .deb is bind-mounted into the one step that installs
 * it, so it never lands in a layer, and is checked against its sha256 before anything is
 * installed; apt fetches its Depends from the base image's mirror; apt's lists and caches go in
 * that same step. The service runs as its own user, under tini so that `docker stop` (SIGTERM)
 * reaches it: as PID 1, Python would ignore the signal.
 */
export function renderDockerfile(args: DockerfileArgs): string {
    // Everything below lands in Dockerfile, shell and JSON syntax: refuse what would need quoting rules.
    check("baseImage", args.baseImage, /^[a-z0-9][a-z0-9._/:@-]*$/);
    check("debFile", args.debFile, /^[A-Za-z0-9][A-Za-z0-9.+~_-]*\.deb$/);
    check("sha256", args.sha256, /^[0-9a-f]{64}$/);
    check("packageName", args.packageName, /^[a-z0-9][a-z0-9+.-]+$/);
    check("version", args.version, /^[0-9][A-Za-z0-9.+~:-]*$/);
    check("commit", args.commit, /^[0-9a-f]{40}$/);
    check("configPath", args.configPath, /^\/[A-Za-z0-9._/+-]+$/);
    check("osId", args.osId, /^[a-z0-9._-]+$/);
    check("osVersion", args.osVersion, /^[A-Za-z0-9._-]*$/);
    if (!Number.isInteger(args.port) || args.port < 1 || args.port > 65535) throw new Error(`renderDockerfile: port ${args.port} is not a TCP port`);
    if (!args.command[0]?.startsWith("/")) throw new Error("renderDockerfile: command must start with the console script's absolute path");

    const deb = `/tmp/${args.debFile}`;
    const mismatch = `${errorPrefix}${args.debFile} does not match the sha256 in the release manifest (expected ${args.sha256}): refusing to install it`;
    const builtFor = `${args.osId} ${args.osVersion}`.trim();
    const wrongBase = `${errorPrefix}${args.baseImage} is not ${builtFor}, the distribution ${args.debFile} was built on: use a ${builtFor} base image`;
    const probe = `import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:${args.port}/health', timeout=2).status != 200)`;
    const labels: [string, string][] = [
        ["org.opencontainers.image.title", args.packageName],
        ["org.opencontainers.image.version", args.version],
        ["org.opencontainers.image.revision", args.commit],
        ["org.opencontainers.image.base.name", args.baseImage],
        ["io.holodeck.deb.sha256", args.sha256],
    ];
    return [
        `# ${args.packageName} ${args.version}: the Holodeck release's .deb, exactly, built from commit ${args.commit}.`,
        `FROM ${args.baseImage}`,
        `RUN --mount=type=bind,source=${args.debFile},target=${deb} \\`,
        // The .deb's Depends name the Python of the distribution it was built on.
        `    { . /etc/os-release && [ "$ID" = ${args.osId} ] && [ "\${VERSION_ID:-}" = ${shellQuote(args.osVersion)} ] \\`,
        `      || { echo ${shellQuote(wrongBase)} >&2; exit 1; }; } \\`,
        `    && { echo ${shellQuote(`${args.sha256}  ${deb}`)} | sha256sum --check --strict \\`,
        `      || { echo ${shellQuote(mismatch)} >&2; exit 1; }; } \\`,
        "    && apt-get update \\",
        `    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tini ${shellQuote(deb)} \\`,
        "    && apt-get clean \\",
        "    && rm -rf /var/lib/apt/lists/*",
        // PYTHONDONTWRITEBYTECODE as in the systemd unit: the venv ships its bytecode.
        `ENV HOLODECK_CONFIG=${args.configPath} PYTHONDONTWRITEBYTECODE=1`,
        `EXPOSE ${args.port}`,
        `USER ${args.packageName}`,
        // minbase has no curl: the probe is the image's own python3 (-I: no environment, no user site).
        `HEALTHCHECK ${healthcheck} CMD ${JSON.stringify(["/usr/bin/python3", "-I", "-c", probe])}`,
        `ENTRYPOINT ${JSON.stringify(["/usr/bin/tini", "--"])}`,
        `CMD ${JSON.stringify(args.command)}`,
        // OCI's annotation keys have no place for the artifact's checksum: io.holodeck.deb.sha256 is ours.
        `LABEL ${labels.map(([key, value]) => `${key}=${JSON.stringify(value)}`).join(" \\\n      ")}`,
        "",
    ].join("\n");
}

/**
 * The argv of a release's service: the manifest's `service` with its console script resolved in
 * the venv, as holodeck-build writes ExecStart.
 */
export function serviceCommand(manifest: Pick<Manifest, "name" | "prefix" | "service">): string[] {
    if (!manifest.service) throw new Error(`${manifest.name} has no service: build it with holodeck-build --service 'COMMAND ARGS' to make an image`);
    // systemd splits ExecStart at whitespace and has its own quoting rules, which argv cannot mirror.
    if (/["'\\]/.test(manifest.service)) throw new Error(`${manifest.name}'s service ${JSON.stringify(manifest.service)} uses quotes: not supported in an image's CMD`);
    const [script, ...args] = manifest.service.trim().split(/\s+/);
    return [`${manifest.prefix}/bin/${script}`, ...args];
}

/** Where a release's service reads its configuration, as the unit and the Salt state put it. */
export function configPath(packageName: string): string {
    return stateDefaults(packageName).config_file;
}

/** The Dockerfile inputs for a release, its service listening on `port`. */
export function imageArgs(manifest: Manifest, port: number, baseImage: string): DockerfileArgs {
    return {
        baseImage, debFile: manifest.file, sha256: manifest.sha256, packageName: manifest.name, version: manifest.version,
        commit: manifest.commit, port, command: serviceCommand(manifest), configPath: configPath(manifest.name),
        osId: manifest.osId, osVersion: manifest.osVersion,
    };
}

/** The official Docker image of the distribution a .deb was built on (os-release ID and VERSION_ID). */
export function officialBaseImage(manifest: Pick<Manifest, "osId" | "osVersion">): string {
    if (manifest.osId === "debian" && /^\d+$/.test(manifest.osVersion)) return `debian:${manifest.osVersion}-slim`;
    if (manifest.osId === "ubuntu" && /^\d+\.\d+$/.test(manifest.osVersion)) return `ubuntu:${manifest.osVersion}`;
    throw new Error(`no official image is known for ${manifest.osId} ${manifest.osVersion}, the build minion's distribution: set holodeck:imageBase to an image of it`);
}

/**
 * The image's REPOSITORY:TAG: the package name unless a repository is given, and the version
 * with what Docker tags lack ('+', '~', ':') as '_'.
 */
export function imageTag(manifest: Pick<Manifest, "name" | "version">, repository: string = manifest.name): string {
    return `${repository}:${manifest.version.replace(/[^A-Za-z0-9_.-]/g, "_")}`;
}

/** What builder/holodeck-image prints last. */
export interface BuiltImage {
    /** The REPOSITORY:TAG it was built as. */
    readonly image: string;
    /** Local image id. */
    readonly id: string;
    /** With --push: the manifest digest in the registry, and REPOSITORY@DIGEST. */
    readonly digest?: string;
    readonly repoDigest?: string;
}

/** Parses holodeck-image's last line. */
export function parseBuiltImage(stdout: string): BuiltImage {
    const line = stdout.trim().split("\n").pop() ?? "";
    let built: Partial<BuiltImage> = {};
    try {
        built = JSON.parse(line) as BuiltImage;
    } catch {
        // Reported below with the line itself.
    }
    if (typeof built.image !== "string" || !/^sha256:[0-9a-f]{64}$/.test(built.id ?? "")) {
        throw new Error(`holodeck-image printed no image; its last line was: ${line.slice(0, 200)}`);
    }
    return built as BuiltImage;
}
