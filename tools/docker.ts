// The local Docker engine, for the tests and the demo: Holodeck's base image, and release images
// built, inspected and run as the build minion builds them (the program itself never calls it).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { errorPrefix, imageArgs, imageTag, parseBuiltImage, renderDockerfile } from "../lib/dockerImage";
import { Manifest } from "../lib/holoMaker";
import { builderDir, repoRoot } from "../lib/paths";
import { run, RunningService } from "./localRelease";

/** Debian's Docker client: the `docker` first on PATH on these machines is another one. */
export const dockerClient = "/usr/bin/docker";
/** The base image scripts/base-image.sh makes: debootstrap's minbase of Debian 12. */
export const defaultBaseImage = "holodeck/debian:bookworm-minbase";
const baseImageScript = path.join(repoRoot, "scripts", "base-image.sh");
const imageScript = path.join(builderDir, "holodeck-image");

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

/**
 * Skips the suite whose `before` hook this is when no Docker engine answers, saying so loudly:
 * on a machine with Docker nothing is skipped.
 */
export function skipWithoutDocker(hook: Mocha.Context, what: string): void {
    const unavailable = dockerUnavailable();
    if (!unavailable) return;
    const rule = "!".repeat(100);
    console.error(`\n${rule}\n!! SKIPPING ${what}: ${unavailable}\n${rule}\n`);
    hook.skip();
}

/** Makes the base image with scripts/base-image.sh, which returns at once when it exists. */
export function ensureBaseImage(stderr: "pipe" | "inherit" = "pipe"): void {
    const result = spawnSync("bash", [baseImageScript], { encoding: "utf8", stdio: ["ignore", "pipe", stderr] });
    if (result.status !== 0) throw new Error(`scripts/base-image.sh failed (${result.status ?? result.signal})${result.stderr ? `:\n${result.stderr}` : ""}`);
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
