// The main job on the embedded default, with no cloud: commit the sample app to a throwaway git
// repository, build its .deb with HoloMaker, install it with dpkg on this machine's real root,
// run it as its service user, check /health, print the manifest, then purge everything.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildRelease, commitDirectory, debianWheels, fetchHealth, run, sampleAppDir, startService } from "../lib/localRelease";

const packageName = "holodeck-hello";
const steps = 5;
let step = 0;
const progress = (text: string) => console.error(`demo: [${++step}/${steps}] ${text}`);

function fail(text: string): never {
    console.error(`demo: error: ${text}`);
    process.exit(2);
}

function isInstalled(pkg: string): boolean {
    return spawnSync("dpkg-query", ["-W", "-f=${Status}", pkg], { encoding: "utf8" }).stdout.includes("installed");
}

async function main(): Promise<void> {
    if (process.getuid?.() !== 0) fail("run as root: the build uses a private mount namespace and the demo installs a .deb with dpkg");
    if (!fs.existsSync(debianWheels)) fail(`${debianWheels} is missing: apt-get install python3-pip-whl python3-setuptools-whl python3-wheel-whl`);
    if (isInstalled(packageName)) fail(`${packageName} is already installed; the demo installs and purges it: remove it first (dpkg --purge ${packageName})`);

    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-demo-"));
    let installed = false;
    try {
        progress(`committing ${path.relative(process.cwd(), sampleAppDir) || sampleAppDir} to a throwaway git repository`);
        const repo = path.join(scratch, "repo");
        const commit = commitDirectory(sampleAppDir, repo);

        progress(`building commit ${commit} with holodeck-build`);
        const manifest = buildRelease(
            ["--repo", repo, "--commit", commit, "--out", path.join(scratch, "out"), "--find-links", debianWheels,
                "--service", "holodeck-hello --host 127.0.0.1 --port 8000"],
            "inherit",
        );

        progress(`installing ${manifest.file} with dpkg on this machine (real root, purged at the end)`);
        run("dpkg", ["-i", path.join(scratch, "out", manifest.file)]);
        installed = true;

        progress(`starting ${manifest.prefix}/bin/holodeck-hello as user ${packageName}`);
        const service = await startService("setpriv", [
            `--reuid=${packageName}`, `--regid=${packageName}`, "--init-groups", `${manifest.prefix}/bin/holodeck-hello`, "--port", "0",
        ]);
        try {
            progress(`checking ${service.url}/health`);
            const health = await fetchHealth(service.url);
            if (health.version !== manifest.projectVersion) fail(`/health reports version ${health.version}, the manifest ${manifest.projectVersion}`);
            console.error(`demo: /health answered ${JSON.stringify(health)}`);
        } finally {
            await service.stop();
        }
        console.log(JSON.stringify(manifest, null, 2));
        console.error(`demo: release ${manifest.version} built, installed, answered /health; sha256 ${manifest.sha256}`);
    } finally {
        if (installed) {
            console.error(`demo: cleaning up: dpkg --purge ${packageName}`);
            run("dpkg", ["--purge", packageName]);
        }
        fs.rmSync(scratch, { recursive: true, force: true });
    }
}

main().catch((error: Error) => fail(error.message));
