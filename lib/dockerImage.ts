// The Docker form of a release: an image that wraps exactly the release's .deb, installed with
// apt on the Debian it was built for. The Dockerfile is rendered here; the helpers build, run
// and remove images with the local engine, for the tests and the demo.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { Manifest, shellQuote } from "./holoMaker";
import { run, RunningService } from "./localRelease";
import { builderDir, repoRoot } from "./paths";
import { stateDefaults } from "./salt";

/** Debian's Docker client: the `docker` first on PATH on these machines is another one. */
export const dockerClient = "/usr/bin/docker";
/** The base image scripts/base-image.sh makes: debootstrap's minbase of Debian 12. */
export const defaultBaseImage = "holodeck/debian:bookworm-minbase";
const baseImageScript = path.join(repoRoot, "scripts", "base-image.sh");
const imageScript = path.join(builderDir, "holodeck-image");

// Docker 20.10 has no --start-interval: the interval is also how soon a new container is healthy.
const healthcheck = "--interval=5s --timeout=3s --start-period=10s --retries=3";
// Every line the Dockerfile's own checks fail with starts so; build errors quote those lines.
const errorPrefix = "holodeck-image: error: ";

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
export function imageArgs(manifest: Manifest, port: number, baseImage = defaultBaseImage): DockerfileArgs {
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

function docker(args: string[]): string {
    return run(dockerClient, args).trim();
}

/** Why no Docker engine answers through Debian's client, or undefined when one does. */
export function dockerUnavailable(): string | undefined {
    const info = spawnSync(dockerClient, ["info"], { encoding: "utf8", timeout: 15_000 });
    if (info.error) return `${dockerClient} cannot run (${info.error.message}): apt-get install docker.io`;
    if (info.status === 0) return undefined;
    // `docker info` prints the engine's error among its client section on stdout.
    const reason = /^ERROR: (.*)$/m.exec(info.stdout)?.[1] ?? info.stderr.trim();
    return `no Docker engine reachable (${reason}): run as root (or in group docker) with an engine running: start Debian's docker.io as root with \`dockerd &\``;
}

/** Makes the base image with scripts/base-image.sh, which returns at once when it exists. */
export function ensureBaseImage(stderr: "pipe" | "inherit" = "pipe"): void {
    const result = spawnSync("bash", [baseImageScript], { encoding: "utf8", stdio: ["ignore", "pipe", stderr] });
    if (result.status !== 0) throw new Error(`scripts/base-image.sh failed (${result.status ?? result.signal})${result.stderr ? `:\n${result.stderr}` : ""}`);
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

/**
 * Builds the image of the release `manifest` describes from its .deb at `deb` with
 * builder/holodeck-image (as the build minion does, without the push), tags it with
 * {@link imageTag} and returns the image id. A failed build throws with the Dockerfile's own
 * error line (such as a sha256 mismatch) or else the end of the build's output.
 */
export function buildImage(manifest: Manifest, deb: string, port: number, baseImage = defaultBaseImage): string {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-image-"));
    try {
        // holodeck-image finds the .deb beside its manifest.
        const manifestFile = path.join(scratch, `${manifest.file}.json`);
        fs.copyFileSync(deb, path.join(scratch, manifest.file));
        fs.writeFileSync(manifestFile, JSON.stringify(manifest));
        const dockerfile = path.join(scratch, "Dockerfile");
        fs.writeFileSync(dockerfile, renderDockerfile(imageArgs(manifest, port, baseImage)));
        const build = spawnSync(imageScript, ["--manifest", manifestFile, "--dockerfile", dockerfile, "--image", imageTag(manifest)], {
            // Debian's docker (and python3) first, as on the build minion.
            encoding: "utf8", env: { ...process.env, PATH: `${path.dirname(dockerClient)}:${process.env.PATH}` }, maxBuffer: 64 * 1024 * 1024,
        });
        if (build.status !== 0) throw new Error(`docker build of ${manifest.file} failed:\n${buildErrors(build.stderr)}`);
        return parseBuiltImage(build.stdout).id;
    } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
    }
}

/** The Dockerfile's own error lines in a build's output, or else its last lines. */
function buildErrors(output: string): string {
    // Plain progress prefixes a step's output with "#<step> <seconds> ".
    const lines = output.trim().split("\n").map((line) => line.replace(/^#\d+ \d+\.\d+ /, ""));
    const ours = lines.filter((line) => line.startsWith(errorPrefix));
    return (ours.length ? ours : lines.slice(-15)).join("\n");
}

/** The parts of `docker image inspect`'s Config the tests and the demo read. */
export interface ImageConfig {
    User: string;
    Env: string[];
    ExposedPorts: Record<string, object>;
    Labels: Record<string, string>;
    Entrypoint: string[];
    Cmd: string[];
}

export function inspectImage(image: string): ImageConfig {
    return JSON.parse(docker(["image", "inspect", "--format", "{{json .Config}}", image])) as ImageConfig;
}

/** Removes an image by id or tag. */
export function removeImage(image: string): void {
    docker(["image", "rm", image]);
}

/** The uid and gid the image's USER runs as. */
export function imageUser(image: string): { uid: number; gid: number } {
    const id = docker(["run", "--rm", "--entrypoint", "/usr/bin/id", image]);
    const match = /^uid=(\d+)\S* gid=(\d+)/.exec(id);
    if (!match) throw new Error(`unexpected output of id in ${image}: ${id}`);
    return { uid: Number(match[1]), gid: Number(match[2]) };
}

/**
 * Writes `text` to `file` as the Salt state writes config.ini on a server: owner root, group
 * the service's (here the image user's gid), mode 0640: the service reads it, cannot rewrite it.
 */
export function writeImageConfig(image: string, file: string, text: string): void {
    fs.writeFileSync(file, text, { mode: 0o640 });
    fs.chownSync(file, 0, imageUser(image).gid);
    fs.chmodSync(file, 0o640);
}

export interface RunningContainer extends RunningService {
    readonly id: string;
}

function containerState(id: string): { Status: string; ExitCode: number; Health?: { Status: string; Log: { Output: string }[] } } {
    return JSON.parse(docker(["container", "inspect", "--format", "{{json .State}}", id]));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** GETs `url` and resolves with the status code; fails on a closed connection or after `timeoutMs`. */
function httpStatus(url: string, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
        const request = http.get(url, { timeout: timeoutMs }, (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
        });
        request.on("timeout", () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
        request.on("error", reject);
    });
}

/** Polls `url`/health until it answers 200; gives up when the container stops or time runs out. */
async function awaitHealth(id: string, url: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        // node:http, not fetch: until the service listens, docker-proxy accepts and at once closes
        // connections, and Node 20's fetch (undici) can lose such a request: it then waits 300 s
        // holding no handle, so a script simply exits (seen here, NODE_DEBUG=undici,net).
        const status = await httpStatus(`${url}/health`, 2_000).catch((error: Error) => error.message);
        if (status === 200) return;
        const state = containerState(id);
        if (state.Status !== "running") throw new Error(`it exited (${state.ExitCode})`);
        if (Date.now() > deadline) throw new Error(`/health did not answer 200 within ${timeoutMs} ms (last: ${status})`);
        await sleep(200);
    }
}

/**
 * Runs `image` with `configFile` mounted read-only at the image's $HOLODECK_CONFIG and its port
 * published on 127.0.0.1 (a free port), hardened like the systemd unit; resolves once /health
 * answers 200. If the service does not come up, the container is removed and the error carries
 * its output.
 */
export async function runContainer(image: string, configFile: string, timeoutMs = 20_000): Promise<RunningContainer> {
    const config = inspectImage(image);
    const target = config.Env.find((env) => env.startsWith("HOLODECK_CONFIG="))?.slice("HOLODECK_CONFIG=".length);
    const port = Object.keys(config.ExposedPorts ?? {})[0];
    if (!target || !port) throw new Error(`${image} sets no HOLODECK_CONFIG or exposes no port: not a Holodeck release image`);
    const id = docker([
        "run", "--detach", "--publish", `127.0.0.1::${port}`,
        "--mount", `type=bind,source=${path.resolve(configFile)},target=${target},readonly`,
        // The unit's ProtectSystem=strict and NoNewPrivileges=yes, in Docker's terms.
        "--read-only", "--cap-drop=ALL", "--security-opt=no-new-privileges",
        image,
    ]);
    try {
        const url = `http://${docker(["port", id, port]).split("\n")[0]}`;
        await awaitHealth(id, url, timeoutMs);
        let stopped = false;
        const stop = async () => {
            if (stopped) return;
            stopped = true;
            docker(["container", "stop", id]);
            docker(["container", "rm", id]);
        };
        return { id, url, stop };
    } catch (error) {
        const logs = spawnSync(dockerClient, ["logs", id], { encoding: "utf8" });
        docker(["container", "rm", "--force", id]);
        throw new Error(`the container of ${image} did not come up: ${(error as Error).message}; its output:\n${logs.stdout}${logs.stderr}`, { cause: error });
    }
}

/** Waits until Docker's HEALTHCHECK calls the container healthy; throws with the probe's last output otherwise. */
export async function waitForHealthy(id: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const health = containerState(id).Health;
        if (health?.Status === "healthy") return;
        if (health?.Status === "unhealthy" || Date.now() > deadline) {
            const last = health?.Log[health.Log.length - 1]?.Output ?? "no probe ran";
            throw new Error(`container ${id.slice(0, 12)} is ${health?.Status ?? "without a HEALTHCHECK"} after ${timeoutMs} ms; last probe: ${last}`);
        }
        await sleep(250);
    }
}
