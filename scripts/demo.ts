// The main job on the embedded default (npm run demo): `pulumi up -s local` of the sample app,
// the whole chain on this machine's Docker engine (Pulumi.local.yaml). Sets up what it needs and
// is missing: the engine (scripts/engine.sh, minutes the first time), Docker's engine (started and
// left running), the server image, and the sample app's repository at the commit the stack pins.
// Then prints where the app answers, how to ship a new commit and how to tear everything down.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { repoRoot } from "../lib/paths";
import { dockerClient, dockerUnavailable } from "../tools/docker";
import { commitDirectory, sampleAppDir } from "../tools/localRelease";

const stack = "local";
const sampleRepo = path.join(repoRoot, ".holodeck", "sample-app");
const steps = 5;
let step = 0;
const started = Date.now();
const progress = (text: string) => console.error(`demo: [${++step}/${steps}] ${text} (${Math.round((Date.now() - started) / 1000)} s)`);

function fail(text: string): never {
    console.error(`demo: error: ${text}`);
    process.exit(1);
}

/** Runs `command` with its progress (stderr) on this terminal; fails the demo naming it unless it exits 0. */
function runStep(command: string, args: string[]): void {
    const result = spawnSync(command, args, { cwd: repoRoot, stdio: ["ignore", "ignore", "inherit"] });
    if (result.status !== 0) fail(`${command} ${args.join(" ")} failed (${result.status ?? result.signal})`);
}

/** `pulumi ARGS` with the engine built here, offline, on this checkout's file backend; stdout returned. */
function pulumi(args: string[], output: "inherit" | "pipe" = "pipe"): string {
    const result = spawnSync("bash", ["scripts/pulumi.sh", ...args], { cwd: repoRoot, encoding: "utf8", stdio: ["ignore", output, "inherit"] });
    if (result.status !== 0) fail(`pulumi ${args.join(" ")} failed (${result.status ?? result.signal})`);
    return result.stdout ?? "";
}

/** Starts Debian's dockerd, detached and logging to .holodeck/dockerd.log, and waits until it answers. */
async function startDocker(): Promise<number> {
    const log = path.join(repoRoot, ".holodeck", "dockerd.log");
    fs.mkdirSync(path.dirname(log), { recursive: true });
    const out = fs.openSync(log, "a");
    const dockerd = spawn("dockerd", [], { detached: true, stdio: ["ignore", out, out] });
    dockerd.unref();
    const deadline = Date.now() + 60_000;
    while (dockerUnavailable()) {
        if (dockerd.exitCode !== null || Date.now() > deadline) fail(`dockerd did not start (see ${log})`);
        await new Promise((resolve) => setTimeout(resolve, 500));
    }
    return dockerd.pid ?? 0;
}

async function main(): Promise<void> {
    progress("the Pulumi engine (built from Go modules the first time: up to about 18 minutes; a second after)");
    runStep("bash", ["scripts/engine.sh"]);

    progress("Docker's engine");
    const unavailable = dockerUnavailable();
    if (unavailable) {
        if (process.getuid?.() !== 0) fail(unavailable);
        const pid = await startDocker();
        console.error(`demo: started Docker's engine (pid ${pid}); it keeps running for the stack: stop it with \`kill ${pid}\` after \`npm run pulumi -- destroy -s ${stack}\``);
    }

    progress("the server image (scripts/server-image.sh: about 5 minutes the first time)");
    runStep("bash", ["scripts/server-image.sh"]);

    progress(`the sample app's repository, ${path.relative(repoRoot, sampleRepo)}`);
    const pinned = (parse(fs.readFileSync(path.join(repoRoot, `Pulumi.${stack}.yaml`), "utf8")).config as Record<string, string>)["holodeck:commit"];
    if (!fs.existsSync(sampleRepo)) {
        fs.mkdirSync(sampleRepo, { recursive: true });
        const commit = commitDirectory(sampleAppDir, sampleRepo);
        if (commit !== pinned) fail(`the sample app's repository got commit ${commit}, but Pulumi.${stack}.yaml pins ${pinned}: examples/hello changed; set holodeck:commit to ${commit}`);
    }

    progress(`pulumi up -s ${stack}: a Salt master, a build minion, an artifact store, the app servers and a balancer, as containers`);
    pulumi(["stack", "select", "--create", stack]);
    pulumi(["up", "--stack", stack, "--yes", "--non-interactive", "--skip-preview"], "inherit");
    const outputs = JSON.parse(pulumi(["stack", "output", "--stack", stack, "--json"])) as Record<string, unknown>;
    const url = `http://${String(outputs.loadBalancerAddress)}`;
    const minutes = ((Date.now() - started) / 60_000).toFixed(1);
    console.log([
        "",
        `The sample app answers at ${url} (${minutes} min): curl ${url}/health`,
        `Ship a new commit: commit a change in ${path.relative(repoRoot, sampleRepo)}, then`,
        `  npm run pulumi -- config set holodeck:commit "$(git -C ${path.relative(repoRoot, sampleRepo)} rev-parse HEAD)" -s ${stack}`,
        `  npm run pulumi -- up -s ${stack}`,
        `Roll back: set holodeck:commit to ${pinned} again and \`up\`: the stack keeps its last verified releases (holodeck:keepReleases), so no build runs`,
        "Promote the verified release to its prod (Pulumi.local-prod.yaml, its own store and network):",
        "  npm run pulumi -- stack init local-prod   (once)",
        "  npm run pulumi -- up -s local-prod",
        `Tear it down: npm run pulumi -- destroy -s ${stack} --yes (and -s local-prod, if you promoted; the images stay: ${dockerClient} image ls holodeck/server)`,
    ].join("\n"));
}

main().catch((error: Error) => fail(error.message));
