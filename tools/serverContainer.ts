// Server containers for the live tests: the server image (scripts/server-image.sh) booted as a
// server is on the docker substrate, /sbin/init as PID 1 and cloud-init reading a NoCloud seed.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { repoRoot } from "../lib/paths";
import { dockerClient } from "./docker";
import { run, runAsync } from "./localRelease";

/** Builds the server image (or finds it): the script's progress goes to stderr; resolves with its tag. */
export function serverImage(): Promise<string> {
    return new Promise((resolve, reject) => {
        const child = spawn("bash", [path.join(repoRoot, "scripts", "server-image.sh")], { stdio: ["ignore", "pipe", "inherit"] });
        let stdout = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.on("error", reject);
        child.on("close", (status) => {
            const tag = stdout.trim().split("\n").pop() ?? "";
            if (status === 0 && /^holodeck\/server:[0-9a-f]{12}$/.test(tag)) resolve(tag);
            else reject(new Error(`scripts/server-image.sh failed (${status}): stdout ${JSON.stringify(stdout)}`));
        });
    });
}

/** Runs a command in `container` and returns its stdout; throws with its output unless it exits 0. */
export async function inside(container: string, ...args: string[]): Promise<string> {
    const result = await runAsync(dockerClient, ["exec", container, ...args]);
    if (result.status !== 0) throw new Error(`${args.join(" ")} in ${container} failed (${result.status}):\n${result.stdout}${result.stderr}`);
    return result.stdout;
}

export interface BootOptions {
    /** Image to boot (from {@link serverImage}). */
    readonly image: string;
    /** Label `key=value` every container of a test run carries, for its cleanup. */
    readonly label: string;
    /** Name of the container. */
    readonly name: string;
    /** The server's user data. */
    readonly userData: string;
    /** Its NoCloud meta-data (instance-id, public-keys). */
    readonly metaData: Record<string, unknown>;
    /** Further `docker create` arguments (--network, --ip, --publish). */
    readonly dockerArgs?: readonly string[];
}

export interface Booted {
    readonly container: string;
    /** `systemctl is-system-running` once the boot has finished. */
    readonly state: string;
    /** Units in the failed state, one per line. */
    readonly failed: string;
    /** `cloud-init status --long`. */
    readonly cloudInit: string;
}

/**
 * Boots a server container: the seed copied in before start (0700/0600: it holds private keys;
 * docker cp keeps modes), /sbin/init as PID 1, NET_ADMIN for the metadata guard's nftables.
 * Resolves once systemd has finished booting (cloud-final included) and cloud-init reports its end.
 */
export async function bootServer(options: BootOptions): Promise<Booted> {
    const seed = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-seed-"));
    let container: string;
    try {
        fs.writeFileSync(path.join(seed, "user-data"), options.userData, { mode: 0o600 });
        fs.writeFileSync(path.join(seed, "meta-data"), stringify(options.metaData), { mode: 0o600 });
        container = run(dockerClient, [
            "create", "--label", options.label, "--name", options.name, "--hostname", options.name,
            "--tmpfs", "/run", "--tmpfs", "/run/lock", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro", "--cap-add", "NET_ADMIN",
            ...(options.dockerArgs ?? []), options.image,
        ]).trim();
        // Into the image's own seed directory (root's alone), as the docker provider's uploads go.
        run(dockerClient, ["cp", `${seed}/.`, `${container}:/var/lib/cloud/seed/nocloud`]);
    } finally {
        fs.rmSync(seed, { recursive: true, force: true });
    }
    run(dockerClient, ["start", container]);
    console.error(`server container: booting ${options.name} (${container.slice(0, 12)})`);
    // systemctl answers once PID 1 has made its private socket: until then it cannot connect.
    await inside(container, "timeout", "60", "sh", "-c", "until [ -S /run/systemd/private ]; do sleep 0.1; done");
    // Exits non-zero for "degraded": the state is what is asserted.
    const state = (await runAsync(dockerClient, ["exec", container, "systemctl", "is-system-running", "--wait"])).stdout.trim();
    const failed = await inside(container, "systemctl", "list-units", "--failed", "--plain", "--no-legend");
    const cloudInit = (await runAsync(dockerClient, ["exec", container, "cloud-init", "status", "--wait", "--long"])).stdout;
    console.error(`server container: ${options.name} is ${state}`);
    return { container, state, failed, cloudInit };
}

/** Removes every container carrying `label` (a test run's). */
export function removeLabelled(label: string): void {
    const containers = run(dockerClient, ["ps", "--all", "--quiet", "--filter", `label=${label}`]).trim();
    if (containers) run(dockerClient, ["rm", "--force", "--volumes", ...containers.split("\n")]);
}
