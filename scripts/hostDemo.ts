// HoloMaker alone on this machine, with no cloud and no Pulumi (npm run demo:host): commit the
// sample app to a throwaway git repository, build its .deb with HoloMaker, install it with dpkg
// on this machine's real root, run it as its service user, check /health, run the sample app's
// functional HTTP checks (as the test stack does), print the manifest, then purge everything.
// With --docker, the .deb goes into a Docker image instead, run with the test stack's config.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { renderTable } from "../checker/report";
import { runChecks } from "../checker/run";
import { loadSpec } from "../checker/spec";
import { imageTag } from "../lib/dockerImage";
import { buildImage, dockerUnavailable, ensureBaseImage, inspectImage, removeImage, runContainer, waitForHealthy, writeImageConfig } from "../tools/docker";
import { Manifest } from "../lib/holoMaker";
import { buildRelease, commitDirectory, debianWheels, fetchHealth, isInstalled, run, sampleAppDir, startService } from "../tools/localRelease";
import { stackAppConfig } from "../tools/stackFiles";
import { renderConfigIni } from "../tools/saltRender";

const packageName = "holodeck-hello";

function fail(text: string): never {
    console.error(`demo: error: ${text}`);
    process.exit(2);
}

const args = process.argv.slice(2);
// Refused rather than ignored: a mistyped --docker would otherwise install on this machine's root.
for (const arg of args) if (arg !== "--docker") fail(`unknown argument ${arg}: usage: npm run demo:host [-- --docker]`);
const inDocker = args.includes("--docker");
const port = 8000;

const steps = inDocker ? 8 : 6;
let step = 0;
const progress = (text: string) => console.error(`demo: [${++step}/${steps}] ${text}`);

/** The sample app's check file against `url`, as the test stack runs it against each server. */
async function functionalChecks(url: string, version: string): Promise<void> {
    const file = path.join(sampleAppDir, "holodeck-checks.yaml");
    progress(`running the functional checks of ${path.relative(process.cwd(), file)} against ${url}`);
    const report = await runChecks(loadSpec(file, { VERSION: version }), [url], { deadlineSeconds: 10 });
    console.error(renderTable(report).trimEnd());
    // Thrown, not fail(): the callers' finally blocks clean up.
    if (!report.passed) throw new Error(`${report.failures} of ${report.checks} functional checks failed`);
}

/** Without --docker: the .deb installed with dpkg on this machine, run as its service user, purged. */
async function onThisMachine(manifest: Manifest, deb: string): Promise<void> {
    let installed = false;
    try {
        progress(`installing ${manifest.file} with dpkg on this machine (real root, purged at the end)`);
        run("dpkg", ["-i", deb]);
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
            await functionalChecks(service.url, manifest.projectVersion);
        } finally {
            await service.stop();
        }
        console.log(JSON.stringify(manifest, null, 2));
        console.error(`demo: release ${manifest.version} built, installed, answered /health and passed its checks; sha256 ${manifest.sha256}`);
    } finally {
        if (installed) {
            console.error(`demo: cleaning up: dpkg --purge ${packageName}`);
            run("dpkg", ["--purge", packageName]);
        }
    }
}

/** The .deb in a Docker image, run with the test stack's config as Salt would render it. */
async function inDockerImage(manifest: Manifest, deb: string, scratch: string): Promise<void> {
    progress("making the base image with scripts/base-image.sh (debootstrap the first time, then cached)");
    ensureBaseImage("inherit");

    progress(`building image ${imageTag(manifest)} from ${manifest.file} (apt fetches its Depends from the Debian mirror)`);
    const image = buildImage(manifest, deb, port);
    try {
        const { greeting } = stackAppConfig("test");
        progress(`running it with the test stack's config (greeting ${JSON.stringify(greeting)}) mounted read-only`);
        const configText = renderConfigIni({
            app: packageName, releaseId: manifest.sha256.slice(0, 12), version: manifest.version, sha256: manifest.sha256,
            // config.ini does not depend on the URL, and a release pillar takes only http(s) ones.
            url: `https://swift.invalid/${manifest.file}`, config: { greeting }, secrets: {},
        });
        const configFile = path.join(scratch, "config.ini");
        writeImageConfig(image, configFile, configText);
        const container = await runContainer(image, configFile);
        try {
            progress(`checking ${container.url}/health and ${container.url}/`);
            const health = await fetchHealth(container.url);
            // Thrown, not fail(): the finally blocks remove the container and the image.
            if (health.version !== manifest.projectVersion) throw new Error(`/health reports version ${health.version}, the manifest ${manifest.projectVersion}`);
            const root = (await (await fetch(`${container.url}/`)).json()) as { message: string };
            if (root.message !== greeting) throw new Error(`/ says ${JSON.stringify(root.message)}, the test stack's config ${JSON.stringify(greeting)}`);
            console.error(`demo: /health answered ${JSON.stringify(health)}; / answered ${JSON.stringify(root)}`);
            await functionalChecks(container.url, manifest.projectVersion);

            progress("waiting for the image's HEALTHCHECK to call the container healthy (every 5 s)");
            await waitForHealthy(container.id, 15_000);
        } finally {
            console.error(`demo: cleaning up: container ${container.id.slice(0, 12)}`);
            await container.stop();
        }
        const { User: user, Labels: labels } = inspectImage(image);
        console.log(JSON.stringify({ manifest, image: { id: image, tag: imageTag(manifest), user, labels } }, null, 2));
        console.error(`demo: release ${manifest.version} built into image ${image.slice(7, 19)}, answered /health and /, passed its checks; sha256 ${manifest.sha256}`);
    } finally {
        console.error(`demo: cleaning up: image ${imageTag(manifest)}`);
        removeImage(image);
    }
}

async function main(): Promise<void> {
    if (process.getuid?.() !== 0) {
        fail(inDocker
            ? "run as root: the build uses a private mount namespace"
            : "run as root: the build uses a private mount namespace and the demo installs a .deb with dpkg");
    }
    if (!fs.existsSync(debianWheels)) fail(`${debianWheels} is missing: apt-get install python3-pip-whl python3-setuptools-whl python3-wheel-whl`);
    if (inDocker) {
        const unavailable = dockerUnavailable();
        if (unavailable) fail(unavailable);
    } else if (isInstalled(packageName)) {
        fail(`${packageName} is already installed; the demo installs and purges it: remove it first (dpkg --purge ${packageName})`);
    }

    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-demo-"));
    try {
        progress(`committing ${path.relative(process.cwd(), sampleAppDir) || sampleAppDir} to a throwaway git repository`);
        const repo = path.join(scratch, "repo");
        const commit = commitDirectory(sampleAppDir, repo);

        progress(`building commit ${commit} with holodeck-build`);
        // In a container the service must listen on every address for its port to be published.
        const host = inDocker ? "0.0.0.0" : "127.0.0.1";
        const manifest = buildRelease(
            ["--repo", repo, "--commit", commit, "--out", path.join(scratch, "out"), "--find-links", debianWheels,
                "--service", `holodeck-hello --host ${host} --port ${port}`],
            "inherit",
        );
        const deb = path.join(scratch, "out", manifest.file);
        if (inDocker) await inDockerImage(manifest, deb, scratch);
        else await onThisMachine(manifest, deb);
    } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
    }
}

main().catch((error: Error) => fail(error.message));
