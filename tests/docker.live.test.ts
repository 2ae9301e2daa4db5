// The Docker form of a release for real: the sample app's .deb built by HoloMaker, wrapped in an
// image on the debootstrapped base, run with the config Salt would render, asked over HTTP.
// Needs a Docker engine; without one the suite is skipped, loudly.
import * as assert from "node:assert/strict";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { configPath, DockerfileArgs, imageArgs, imageTag, parseBuiltImage, renderDockerfile, serviceCommand } from "../lib/dockerImage";
import { buildImage, defaultBaseImage, dockerClient, ensureBaseImage, inspectImage, removeImage, RunningContainer, runContainer, waitForHealthy, skipWithoutDocker, writeImageConfig } from "../tools/docker";
import { Manifest } from "../lib/holoMaker";
import { buildRelease, commitDirectory, debianWheels, run, sampleAppDir } from "../tools/localRelease";
import { stackAppConfig } from "../tools/stackFiles";
import { builderDir } from "../lib/paths";
import { renderConfigIni } from "../tools/saltRender";

// Not the demo's holodeck-hello, so the two never share an image tag.
const name = "holodeck-hello-docker";
const port = 8000;

describe("the Docker image of a release", function () {
    let scratch: string;
    let manifest: Manifest;
    let deb: string;
    let image: string;
    let container: RunningContainer;
    let greeting: string;
    // What after() undoes, last first: only what before() got to make.
    const cleanups: (() => void | Promise<void>)[] = [];

    const inContainer = (script: string) => run(dockerClient, ["exec", container.id, "sh", "-c", script]);
    // The image itself, as root (a running container has no capabilities, not even to read _apt's files).
    const inImage = (script: string) => run(dockerClient, ["run", "--rm", "--user", "root", "--entrypoint", "sh", image, "-c", script]);

    before(async function () {
        skipWithoutDocker(this, "the Docker image tests");
        // The first run debootstraps the base image (30 to 40 s here); later runs find it.
        this.timeout(300_000);
        ensureBaseImage("inherit");

        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-docker-test-"));
        cleanups.push(() => fs.rmSync(scratch, { recursive: true, force: true }));
        const repo = path.join(scratch, "repo");
        const commit = commitDirectory(sampleAppDir, repo);
        const out = path.join(scratch, "out");
        manifest = buildRelease([
            "--repo", repo, "--commit", commit, "--out", out, "--name", name, "--find-links", debianWheels,
            "--service", `holodeck-hello --host 0.0.0.0 --port ${port}`,
        ]);
        deb = path.join(out, manifest.file);
        image = buildImage(manifest, deb, port);
        cleanups.push(() => removeImage(image));

        // The config the holodeck Salt state renders for the test stack.
        greeting = stackAppConfig("test").greeting;
        const configText = renderConfigIni({
            app: name, releaseId: manifest.sha256.slice(0, 12), version: manifest.version, sha256: manifest.sha256,
            url: "https://swift.invalid/x.deb", config: { greeting }, secrets: { api_token: "t0ps3cret" },
        });
        const configFile = path.join(scratch, "config.ini");
        writeImageConfig(image, configFile, configText);
        container = await runContainer(image, configFile);
        cleanups.push(() => container.stop());
    });

    after(async function () {
        this.timeout(30_000);
        // Every cleanup runs even if one fails: a failed `docker stop` must not leave the image too.
        const failures: unknown[] = [];
        for (const cleanup of cleanups.reverse()) await Promise.resolve().then(cleanup).catch((error) => failures.push(error));
        if (failures.length) throw failures[0];
    });

    it("carries the release's sha256, commit and version in its labels", () => {
        const labels = inspectImage(image).Labels;
        assert.equal(labels["io.holodeck.deb.sha256"], manifest.sha256);
        assert.equal(labels["org.opencontainers.image.revision"], manifest.commit);
        assert.equal(labels["org.opencontainers.image.version"], manifest.version);
        assert.equal(labels["org.opencontainers.image.title"], name);
    });

    it("runs the release's service command, under tini", () => {
        const config = inspectImage(image);
        assert.deepEqual(config.Entrypoint, ["/usr/bin/tini", "--"]);
        assert.deepEqual(config.Cmd, [`${manifest.prefix}/bin/holodeck-hello`, "--host", "0.0.0.0", "--port", String(port)]);
    });

    it("runs as the package's service user, not root", () => {
        assert.equal(inspectImage(image).User, name);
        const [user, uid, pid1Uid] = inContainer("id -un; id -u; awk '/^Uid:/ { print $2 }' /proc/1/status").trim().split("\n");
        assert.equal(user, name);
        assert.notEqual(uid, "0");
        assert.equal(pid1Uid, uid, "PID 1 (tini, and the service under it) runs as that user too");
    });

    it("serves /health and the greeting of the Salt-rendered config, mounted read-only", async () => {
        const health = await fetch(`${container.url}/health`);
        assert.equal(health.status, 200);
        assert.deepEqual(await health.json(), { status: "ok", version: "1.0.0" });
        const root = await fetch(`${container.url}/`);
        assert.deepEqual(await root.json(), { message: greeting, version: "1.0.0" });
        const mount = inContainer(`awk '$2 == "${configPath(name)}" { print $4 }' /proc/self/mounts`);
        assert.match(mount, /^ro,/);
    });

    it("holds no .deb, no apt lists, no pip and no build tools", () => {
        // One container for all the looks: each prints what it finds, which should be nothing.
        const looks: Record<string, string> = {
            debs: "find / -xdev -name '*.deb'",
            aptLists: "ls -A /var/lib/apt/lists",
            pipInPackage: `dpkg -L ${name} | grep -E '/(pip|setuptools|wheel)/'`,
            pipAnywhere: "find / -xdev -type d -name pip -path '*-packages/*' -prune",
            tools: "for tool in pip pip3 gcc cc make curl; do command -v $tool; done",
            // dpkg knows python3-dev (python3 names it), as not installed.
            packages: "dpkg-query -W -f '${db:Status-Status} ${Package}\\n' python3-pip python3-dev python3-venv build-essential | grep '^installed'",
        };
        const script = Object.entries(looks).map(([look, command]) => `printf '%s=%s\\n' ${look} "$(${command} 2>&1 | tr '\\n' ' ')"`).join("; ");
        const found = Object.fromEntries(inImage(script).trim().split("\n").map((line) => line.split(/=(.*)/).slice(0, 2)));
        assert.deepEqual(found, Object.fromEntries(Object.keys(looks).map((look) => [look, ""])));
    });

    it("is called healthy by its own HEALTHCHECK within one interval", async () => {
        await waitForHealthy(container.id, 10_000);
    });

    it("refuses, naming the expected sha256, a .deb whose bytes are not the release's", () => {
        const tampered = path.join(scratch, "tampered.deb");
        fs.writeFileSync(tampered, Buffer.concat([fs.readFileSync(deb), Buffer.from("\n")]));
        assert.throws(() => buildImage(manifest, tampered, port), (error: Error) => {
            assert.match(error.message, new RegExp(`holodeck-image: error: ${manifest.file.replace(/[.+]/g, "\\$&")} does not match the sha256 in the release manifest \\(expected ${manifest.sha256}\\)`));
            return true;
        });
    });

    it("refuses a base image of another distribution than the one the .deb was built on", () => {
        assert.throws(() => buildImage({ ...manifest, osVersion: "13" }, deb, port), (error: Error) => {
            assert.match(error.message, /holodeck-image: error: holodeck\/debian:bookworm-minbase is not debian 13, the distribution .* was built on: use a debian 13 base image/);
            return true;
        });
    });

    describe("pushed by holodeck-image to a registry that wants a login", function () {
        const user = "holodeck-ci";
        const password = "pushing-s3cret";
        let registry: ChildProcess;
        let address: string;
        let scriptDir: string;

        // The image script as the build minion runs it: Debian's docker first on PATH, its own TMPDIR and HOME.
        const pushImage = (imageRef: string, stdin: string, extra: string[] = ["--username", user]) => {
            const manifestFile = path.join(scriptDir, `${manifest.file}.json`);
            return spawnSync(path.join(builderDir, "holodeck-image"), [
                "--manifest", manifestFile, "--dockerfile", path.join(scriptDir, "Dockerfile"), "--image", imageRef, "--push", ...extra,
            ], {
                input: stdin, encoding: "utf8",
                env: { ...process.env, PATH: `/usr/bin:${process.env.PATH}`, TMPDIR: path.join(scriptDir, "tmp"), HOME: path.join(scriptDir, "home") },
            });
        };
        /** The registry's answer for a manifest, asked with the test's login. */
        const registryManifest = (repository: string, reference: string) => fetch(`http://${address}/v2/${repository}/manifests/${reference}`, {
            headers: {
                authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`,
                accept: "application/vnd.docker.distribution.manifest.v2+json",
            },
        });

        before(async function () {
            this.timeout(60_000);
            const root = path.join(scratch, "registry");
            scriptDir = path.join(scratch, "push");
            for (const dir of [root, scriptDir, path.join(scriptDir, "tmp"), path.join(scriptDir, "home")]) fs.mkdirSync(dir, { recursive: true });
            fs.copyFileSync(deb, path.join(scriptDir, manifest.file));
            fs.writeFileSync(path.join(scriptDir, `${manifest.file}.json`), JSON.stringify(manifest));
            fs.writeFileSync(path.join(scriptDir, "Dockerfile"), renderDockerfile(imageArgs(manifest, port, defaultBaseImage)));
            fs.writeFileSync(path.join(root, "htpasswd"), run("htpasswd", ["-Bbn", user, password]));
            fs.writeFileSync(path.join(root, "config.yml"), [
                "version: 0.1", "log: {level: info}", `storage: {filesystem: {rootdirectory: ${root}/data}}`,
                `http: {addr: "127.0.0.1:0"}`, `auth: {htpasswd: {realm: holodeck-test, path: ${root}/htpasswd}}`, "",
            ].join("\n"));
            // Port 0, read back from its log: no port is handed over between processes.
            registry = spawn("docker-registry", ["serve", path.join(root, "config.yml")], { stdio: ["ignore", "ignore", "pipe"] });
            cleanups.push(() => { registry.kill(); });
            address = await new Promise<string>((resolve, reject) => {
                let log = "";
                registry.stderr!.on("data", (chunk: Buffer) => {
                    log += chunk.toString();
                    const listening = /msg="listening on ([\d.]+:\d+)"/.exec(log);
                    if (listening) resolve(listening[1]);
                });
                registry.once("exit", (code) => reject(new Error(`docker-registry exited (${code}) before listening:\n${log}`)));
            });
            const status = await fetch(`http://${address}/v2/`).then((response) => response.status);
            assert.equal(status, 401, `docker-registry at ${address} asks for a login`);
        });

        it("pushes the image with the password from stdin and prints the registry's digest", async function () {
            this.timeout(60_000);
            const imageRef = imageTag(manifest, `${address}/holodeck/hello`);
            cleanups.push(() => removeImage(imageRef));
            const result = pushImage(imageRef, `${password}\n`);
            assert.equal(result.status, 0, result.stderr);
            const built = parseBuiltImage(result.stdout);
            assert.match(built.digest ?? "", /^sha256:[0-9a-f]{64}$/);
            assert.equal(built.repoDigest, `${address}/holodeck/hello@${built.digest}`);
            const pushed = await registryManifest("holodeck/hello", imageRef.split(":").pop()!);
            assert.equal(pushed.status, 200);
            assert.equal(pushed.headers.get("docker-content-digest"), built.digest);
            // The pushed image is the release's: its config carries the .deb's sha256.
            const config = (await pushed.json()) as { config: { digest: string } };
            const blob = await fetch(`http://${address}/v2/holodeck/hello/blobs/${config.config.digest}`, {
                headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` },
            });
            assert.equal(((await blob.json()) as { config: { Labels: Record<string, string> } }).config.Labels["io.holodeck.deb.sha256"], manifest.sha256);
            // The login lived in the script's scratch config: nothing left in TMPDIR or HOME.
            assert.deepEqual(fs.readdirSync(path.join(scriptDir, "tmp")), []);
            assert.deepEqual(fs.readdirSync(path.join(scriptDir, "home")), []);
            assert.doesNotMatch(result.stdout + result.stderr, new RegExp(password));
        });

        it("fails before building, naming the registry and the config keys, when the login is refused; nothing is pushed", async function () {
            this.timeout(60_000);
            const imageRef = imageTag(manifest, `${address}/holodeck/refused`);
            const result = pushImage(imageRef, "wrong-password\n");
            assert.equal(result.status, 1, result.stderr);
            assert.match(result.stderr, new RegExp(`holodeck-image: error: the registry ${address} refused the login of ${user} .*holodeck:registryPassword`));
            assert.doesNotMatch(result.stderr, /building/);
            assert.notEqual(spawnSync(dockerClient, ["image", "inspect", imageRef]).status, 0, "no image was built");
            assert.equal((await registryManifest("holodeck/refused", imageRef.split(":").pop()!)).status, 404);
        });

        it("refuses bad arguments before building anything", () => {
            const noPassword = pushImage(imageTag(manifest, `${address}/holodeck/hello`), "");
            assert.equal(noPassword.status, 2);
            assert.match(noPassword.stderr, /--username given but no password on stdin/);
            const digestRef = pushImage(`${address}/holodeck/hello@sha256:${"ab".repeat(32)}`, `${password}\n`);
            assert.equal(digestRef.status, 2);
            assert.match(digestRef.stderr, /--image '.*' must be REPOSITORY:TAG/);
            assert.doesNotMatch(noPassword.stderr + digestRef.stderr, /building/);
        });
    });

    it("stops on docker stop's SIGTERM: tini hands it to the service", async () => {
        // A service that ignored SIGTERM would be killed when the grace period ends: exit code 137.
        run(dockerClient, ["container", "stop", "--time", "60", container.id]);
        const state = JSON.parse(run(dockerClient, ["container", "inspect", "--format", "{{json .State}}", container.id]));
        assert.equal(state.Status, "exited");
        assert.notEqual(state.ExitCode, 137, "the service ignored SIGTERM until Docker killed it");
        await container.stop();
    });
});

describe("the Dockerfile of a release", () => {
    const args: DockerfileArgs = {
        baseImage: "holodeck/debian:bookworm-minbase", debFile: "app_1.0+git20260102.abcdef0_amd64.deb", sha256: "ab".repeat(32),
        packageName: "app", version: "1.0+git20260102.abcdef0", commit: "c0".repeat(20), port: 8080,
        command: ["/opt/venvs/app/bin/app", "--port", "8080"], configPath: "/etc/holodeck/app/config.ini", osId: "debian", osVersion: "12",
    };

    it("is the same text for the same release, and checks the sha256 before apt installs anything", () => {
        const dockerfile = renderDockerfile(args);
        assert.equal(renderDockerfile({ ...args }), dockerfile);
        const check = dockerfile.indexOf(`echo '${args.sha256}  /tmp/${args.debFile}' | sha256sum --check --strict`);
        assert.ok(check > 0 && check < dockerfile.indexOf("apt-get update"), dockerfile);
        const distribution = dockerfile.indexOf(`[ "$ID" = debian ] && [ "\${VERSION_ID:-}" = 12 ]`);
        assert.ok(distribution > 0 && distribution < dockerfile.indexOf("apt-get update"), dockerfile);
        assert.match(dockerfile, new RegExp(`expected ${args.sha256}`));
        assert.match(dockerfile, /^USER app$/m);
        assert.match(dockerfile, /^CMD \["\/opt\/venvs\/app\/bin\/app","--port","8080"\]$/m);
        assert.match(dockerfile, /^HEALTHCHECK --interval=5s .*http:\/\/127\.0\.0\.1:8080\/health/m);
    });

    it("resolves the service's console script in the venv, and refuses input it cannot quote", () => {
        assert.deepEqual(serviceCommand({ name: "app", prefix: "/opt/venvs/app", service: "app --host 0.0.0.0" }), ["/opt/venvs/app/bin/app", "--host", "0.0.0.0"]);
        assert.throws(() => serviceCommand({ name: "app", prefix: "/opt/venvs/app", service: "app --greeting 'hi there'" }), /uses quotes/);
        assert.throws(() => serviceCommand({ name: "app", prefix: "/opt/venvs/app", service: null }), /has no service/);
        assert.throws(() => renderDockerfile({ ...args, sha256: "ab" }), /sha256 "ab" does not match/);
        assert.throws(() => renderDockerfile({ ...args, debFile: "app$(id).deb" }), /debFile/);
    });
});
