// Local building blocks shared by the demo and the tests: put a project in a git repository at
// one commit, run HoloMaker on it, start the installed service and ask it for /health.
import { spawn, spawnSync, SpawnSyncReturns } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { Manifest } from "../lib/holoMaker";
import { builderDir, repoRoot } from "../lib/paths";
import { stateDefaults } from "../lib/salt";

export const holodeckBuild = path.join(builderDir, "holodeck-build");
export const sampleAppDir = path.join(repoRoot, "examples", "hello");
/** Debian's pip/setuptools/wheel wheels: enough to build the sample app with no package index. */
export const debianWheels = "/usr/share/python-wheels";

/** Runs a command to completion; throws with its output when it fails. */
export function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
    const result = spawnSync(command, args, { encoding: "utf8", ...options });
    if (result.status !== 0) {
        throw new Error(`${command} ${args.join(" ")} failed (${result.status ?? result.signal}):\n${result.stdout}${result.stderr}`);
    }
    return result.stdout;
}

/** A loopback port that refuses connections for as long as it is held, and that nobody else can take. */
export interface RefusedPort {
    readonly port: number;
    release(): Promise<void>;
}

/**
 * Holds a loopback TCP port bound but not listening (Node cannot do that; Python can): connections
 * to it are refused, and no other process can bind it meanwhile, unlike a port closed and reused.
 */
export function refusedPort(): Promise<RefusedPort> {
    const holder = spawn("/usr/bin/python3", ["-c", [
        "import socket, sys",
        "s = socket.socket()",
        "s.bind(('127.0.0.1', 0))",
        "print(s.getsockname()[1], flush=True)",
        "sys.stdin.read()",
    ].join("\n")], { stdio: ["pipe", "pipe", "inherit"] });
    const exited = new Promise<void>((resolve) => holder.once("exit", () => resolve()));
    return new Promise((resolve, reject) => {
        let output = "";
        holder.once("error", reject);
        holder.once("exit", (code) => reject(new Error(`the port holder exited (${code}) before binding`)));
        holder.stdout.on("data", (chunk: Buffer) => {
            output += chunk.toString();
            if (!output.includes("\n")) return;
            resolve({ port: Number(output.trim()), release: () => { holder.stdin.end(); return exited; } });
        });
    });
}

/** What {@link runAsync} resolves with. */
export interface Finished {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

/**
 * Runs `command` without blocking the event loop (so servers in this process keep answering it)
 * and resolves with its exit status and output, whatever the status.
 */
export function runAsync(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Finished> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        child.on("error", reject);
        child.on("close", (status) => resolve({ status, stdout, stderr }));
    });
}

/** git's environment for the sample's commits: a fixed author and committer, both dated `date`, so a commit's content fixes its SHA. */
export function sampleGitEnv(date: string): NodeJS.ProcessEnv {
    return {
        ...process.env,
        GIT_AUTHOR_NAME: "Holodeck Sample",
        GIT_AUTHOR_EMAIL: "sample@holodeck.invalid",
        GIT_AUTHOR_DATE: date,
        GIT_COMMITTER_NAME: "Holodeck Sample",
        GIT_COMMITTER_EMAIL: "sample@holodeck.invalid",
        GIT_COMMITTER_DATE: date,
    };
}

/**
 * Copies `source` into a new git repository at `repoDir` and commits it with a fixed author and
 * date, so the same files always give the same commit. Returns the commit's SHA.
 */
export function commitDirectory(source: string, repoDir: string, date = "2026-01-02T03:04:05Z"): string {
    fs.cpSync(source, repoDir, { recursive: true, filter: (src) => !/(__pycache__|\.egg-info|\/build)$/.test(src) });
    const env = sampleGitEnv(date);
    run("git", ["init", "-q", "-b", "main"], { cwd: repoDir, env });
    run("git", ["add", "-A"], { cwd: repoDir, env });
    run("git", ["commit", "-q", "-m", "Sample release"], { cwd: repoDir, env });
    return run("git", ["rev-parse", "HEAD"], { cwd: repoDir }).trim();
}

/** Whether the Debian package `pkg` is installed on this machine. */
export function isInstalled(pkg: string): boolean {
    return spawnSync("dpkg-query", ["-W", "-f=${Status}", pkg], { encoding: "utf8" }).stdout.split(" ").pop() === "installed";
}

/** holodeck-build's `args` given the Salt state's config path with a --service, as the program gives it. */
export function withConfigFile(args: string[]): string[] {
    return args.includes("--service") && !args.includes("--config-file") ? [...args, "--config-file", stateDefaults("{app}").config_file] : args;
}

/** Runs holodeck-build with `args`; progress goes to `stderr` ("inherit" streams it live). */
export function runHolodeckBuild(
    args: string[],
    stderr: "pipe" | "inherit" = "pipe",
    env: NodeJS.ProcessEnv = process.env,
    command: string = holodeckBuild,
): SpawnSyncReturns<string> {
    return spawnSync(command, withConfigFile(args), { encoding: "utf8", stdio: ["ignore", "pipe", stderr], env });
}

/** Builds and returns the manifest whose path is the last line of holodeck-build's stdout. */
export function buildRelease(args: string[], stderr: "pipe" | "inherit" = "pipe"): Manifest {
    const result = runHolodeckBuild(args, stderr);
    if (result.status !== 0) {
        throw new Error(`holodeck-build failed (${result.status}):\n${result.stderr ?? ""}`);
    }
    const manifestPath = result.stdout.trim().split("\n").pop() ?? "";
    return JSON.parse(fs.readFileSync(manifestPath, "utf8")) as Manifest;
}

export interface RunningService {
    url: string;
    stop(): Promise<void>;
}

/**
 * Starts a service that prints "listening on http://HOST:PORT" when ready (the sample app does),
 * and resolves with its URL.
 */
export function startService(command: string, args: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 10_000): Promise<RunningService> {
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const stop = async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
        await exited;
    };
    let output = "";
    return new Promise((resolve, reject) => {
        const fail = (why: string) => {
            clearTimeout(timer);
            void stop().then(() => reject(new Error(`${command} ${why}; it printed:\n${output}`)));
        };
        const timer = setTimeout(() => fail(`did not report its address within ${timeoutMs} ms`), timeoutMs);
        child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
        child.stdout.on("data", (chunk: Buffer) => {
            output += chunk.toString();
            const match = /listening on (http:\/\/\S+)/.exec(output);
            if (match) {
                clearTimeout(timer);
                resolve({ url: match[1], stop });
            }
        });
        child.once("exit", (code, signal) => fail(`exited (${code ?? signal}) before listening`));
    });
}

/** GETs `url` + /health and returns the parsed JSON; throws unless it answers 200. */
export async function fetchHealth(url: string): Promise<{ status: string; version: string }> {
    // Bounded: fetch has no timeout of its own, and a half-open listener can hold it for minutes.
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(10_000) });
    if (response.status !== 200) {
        throw new Error(`${url}/health answered ${response.status}: ${await response.text()}`);
    }
    return (await response.json()) as { status: string; version: string };
}
