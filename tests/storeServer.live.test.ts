// The docker substrate's artifact store (lib/storeServer.ts): the renderer and signer directly,
// then the store server for real: the server image booted with the rendered user data on a Docker
// network of the test's own, nginx asked over HTTP from this host, and builder/holodeck-publish
// run here against it with a real release of the sample app.
// Needs a Docker engine for the live part; without one that part is skipped, loudly.
import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import {
    renderStoreUserData,
    signStoreUrl,
    storeAccessLog,
    storeCopyScript,
    storeCredentialLines,
    storeHtpasswdLine,
    storeObjectUrl,
    storePublishCommand,
    StoreUserDataArgs,
} from "../lib/storeServer";
import { dockerClient, skipWithoutDocker } from "../tools/docker";
import { buildRelease, commitDirectory, debianWheels, run, runAsync, sampleAppDir } from "../tools/localRelease";
import { sshKeygenEd25519 } from "../tools/offlineRun";
import { bootServer, inside, removeLabelled, serverImage } from "../tools/serverContainer";

const publishScript = path.join(__dirname, "..", "builder", "holodeck-publish");

interface WriteFile {
    path: string;
    content: string;
    owner: string;
    permissions: string;
}
interface Document {
    ssh_keys: Record<string, string>;
    write_files: WriteFile[];
    runcmd: string[];
}

function readDocument(text: string): Document {
    assert.ok(text.startsWith("#cloud-config\n"));
    return parse(text.slice("#cloud-config\n".length), { version: "1.1" }) as Document;
}

function fileAt(document: Document, file: string): WriteFile {
    const found = document.write_files.find((entry) => entry.path === file);
    assert.ok(found, `no ${file} in write_files`);
    return found;
}

const alnum = (length: number): string => {
    const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    return Array.from(randomBytes(length), (byte) => letters[byte % letters.length]).join("");
};

// nginx documentation's recipe for a secure_link_md5 signature, with openssl: not our code.
function opensslSignature(text: string): string {
    const digest = spawnSync("openssl", ["md5", "-binary"], { input: text });
    assert.equal(digest.status, 0, digest.stderr?.toString());
    return digest.stdout.toString("base64").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** holodeck-publish run here (stdin: `stdin`), curl recording every process's argv and environment as it starts. */
async function publish(scratch: string, flags: string[], stdin: string): Promise<{ status: number | null; stdout: string; stderr: string; seen: string; curls: number }> {
    const shim = fs.mkdtempSync(path.join(scratch, "curl-shim-"));
    const seen = path.join(shim, "seen");
    fs.writeFileSync(path.join(shim, "curl"), [
        "#!/bin/bash",
        `echo "== curl started" >>${seen}`,
        "for process in /proc/[0-9]*; do",
        `  { tr '\\0' ' ' <"$process/cmdline"; echo; tr '\\0' ' ' <"$process/environ"; echo; } >>${seen} 2>/dev/null || true`,
        "done",
        "exec /usr/bin/curl \"$@\"",
    ].join("\n"), { mode: 0o755 });
    const child = spawn("bash", [publishScript, ...flags], {
        env: { PATH: `${shim}:/usr/bin:/bin`, HOME: scratch, LANG: "C.UTF-8" }, stdio: ["pipe", "pipe", "pipe"],
    });
    // A refusal may come before the script reads its stdin.
    child.stdin.on("error", (error: NodeJS.ErrnoException) => {
        if (error.code !== "EPIPE") throw error;
    });
    child.stdin.end(stdin);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const status = await new Promise<number | null>((resolve, reject) => {
        child.on("error", reject);
        child.on("close", resolve);
    });
    const recorded = fs.existsSync(seen) ? fs.readFileSync(seen, "latin1") : "";
    return { status, stdout, stderr, seen: recorded, curls: recorded.split("\n").filter((line) => line === "== curl started").length };
}
describe("the artifact store server (docker substrate)", function () {
    const hostKey = sshKeygenEd25519();
    const args: StoreUserDataArgs = {
        sshHostKey: hostKey, signingSecret: alnum(40), uploadUser: "holodeck-upload", uploadPassword: alnum(32),
    };

    describe("its user data, signatures and commands", () => {
        let scratch: string;
        before(() => (scratch = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-store-unit-"))));
        after(() => fs.rmSync(scratch, { recursive: true, force: true }));

        it("renders the same document from the same inputs, and another for another secret, password or port", () => {
            const rendered = renderStoreUserData(args);
            assert.equal(renderStoreUserData({ ...args }), rendered);
            for (const change of [{ signingSecret: alnum(40) }, { uploadPassword: alnum(32) }, { port: 8080 }, { uploadUser: "uploader" }]) {
                assert.notEqual(renderStoreUserData({ ...args, ...change }), rendered, JSON.stringify(Object.keys(change)));
            }
        });

        it("is valid cloud-config, its runcmd a clean sh script", () => {
            const file = path.join(scratch, "store.yaml");
            fs.writeFileSync(file, renderStoreUserData(args));
            const result = spawnSync("/usr/bin/cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
            assert.equal(result.status, 0, result.stdout + result.stderr);
            assert.match(result.stdout, /Valid cloud-config/);
            const script = path.join(scratch, "runcmd.sh");
            fs.writeFileSync(script, `#!/bin/sh\n${readDocument(renderStoreUserData(args)).runcmd.join("\n")}\n`);
            run("shellcheck", ["--shell=sh", script]);
        });

        it("installs the host key, and keeps the secrets in files nginx's workers cannot read, or only read", () => {
            const document = readDocument(renderStoreUserData(args));
            assert.deepEqual(document.ssh_keys, { ed25519_private: hostKey.privateKeyOpenssh, ed25519_public: hostKey.publicKeyOpenssh.trim() });
            const site = fileAt(document, "/etc/nginx/conf.d/holodeck-store.conf");
            assert.deepEqual([site.owner, site.permissions], ["root:root", "0600"]);
            assert.ok(site.content.includes(args.signingSecret));
            const htpasswd = fileAt(document, "/etc/nginx/holodeck-store.htpasswd");
            assert.deepEqual([htpasswd.owner, htpasswd.permissions], ["root:www-data", "0640"]);
            assert.equal(htpasswd.content, storeHtpasswdLine(args.uploadUser, args.uploadPassword));
            assert.deepEqual(document.write_files.map((file) => file.path).sort(), [htpasswd.path, site.path].sort());
            // Nowhere else: runcmd is logged by cloud-init.
            const elsewhere = JSON.stringify({ ...document, write_files: undefined });
            for (const secret of [args.signingSecret, args.uploadPassword]) assert.ok(!elsewhere.includes(secret));
            assert.ok(!renderStoreUserData(args).includes(args.uploadPassword));
        });

        it("listens on port 80 unless told another", () => {
            const listen = (port?: number) => /^\s*listen (.*);$/m.exec(fileAt(readDocument(renderStoreUserData({ ...args, port })), "/etc/nginx/conf.d/holodeck-store.conf").content)?.[1];
            assert.equal(listen(), "80 default_server");
            assert.equal(listen(8080), "8080 default_server");
        });

        it("writes an {SSHA} htpasswd line: SHA-1 of password and salt, then the salt, the salt fixed by the credential", () => {
            const line = storeHtpasswdLine("holodeck-upload", args.uploadPassword);
            const match = /^holodeck-upload:\{SSHA\}([A-Za-z0-9+/]+={0,2})\n$/.exec(line);
            assert.ok(match, line);
            const decoded = Buffer.from(match[1], "base64");
            const salt = decoded.subarray(20);
            assert.equal(salt.length, 12);
            assert.deepEqual(decoded.subarray(0, 20), createHash("sha1").update(args.uploadPassword).update(salt).digest());
            assert.equal(storeHtpasswdLine("holodeck-upload", args.uploadPassword), line);
            const other = storeHtpasswdLine("holodeck-upload", alnum(32));
            assert.notDeepEqual(Buffer.from(other.slice(other.indexOf("}") + 1), "base64").subarray(20), salt);
        });

        it("refuses weak or unsafe secrets, bad users and ports, naming the input", () => {
            const refusals: [Partial<StoreUserDataArgs>, RegExp][] = [
                [{ signingSecret: alnum(31) }, /signing secret must be 32 or more letters and digits/],
                [{ signingSecret: `${alnum(40)}"; return 200; #` }, /signing secret must be 32 or more letters and digits/],
                [{ signingSecret: `${alnum(40)}$uri` }, /signing secret must be 32 or more letters and digits/],
                [{ uploadPassword: alnum(23) }, /upload password must be 24 or more letters and digits/],
                [{ uploadPassword: `${alnum(30)}:x` }, /upload password must be 24 or more letters and digits/],
                [{ uploadUser: "up:loader" }, /upload user must be lowercase letters, digits, "_" or "-" \(at most 32\), not "up:loader"/],
                [{ uploadUser: "" }, /upload user must be/],
                [{ port: 0 }, /port must be a whole number from 1 to 65535, not 0/],
                [{ port: 65536 }, /not 65536/],
                [{ port: 80.5 }, /not 80.5/],
            ];
            for (const [change, problem] of refusals) {
                assert.throws(() => renderStoreUserData({ ...args, ...change }), problem, JSON.stringify(change));
            }
        });

        it("signs a download URL as nginx's documentation computes it: MD5 of '<expires><path> <secret>', base64url", () => {
            const url = signStoreUrl("http://10.0.0.5:8080/releases/hello_1.0+git1.abc_amd64.deb", args.signingSecret, 1_900_000_000);
            const expected = opensslSignature(`1900000000/releases/hello_1.0+git1.abc_amd64.deb ${args.signingSecret}`);
            assert.equal(url, `http://10.0.0.5:8080/releases/hello_1.0+git1.abc_amd64.deb?md5=${expected}&expires=1900000000`);
            assert.match(expected, /^[A-Za-z0-9_-]{22}$/);
        });

        it("signs only the store's object URLs, with a usable expiry and secret", () => {
            const secret = args.signingSecret;
            assert.throws(() => signStoreUrl("http://10.0.0.5/other/x.deb", secret, 1), /is not an object URL of the store \(http\(s\):\/\/HOST\[:PORT\]\/releases\/NAME, no query\)/);
            assert.throws(() => signStoreUrl("http://u:p@10.0.0.5/releases/x.deb", secret, 1), /not an object URL/);
            assert.throws(() => signStoreUrl("ftp://10.0.0.5/releases/x.deb", secret, 1), /not an object URL/);
            assert.throws(() => signStoreUrl("http://10.0.0.5/releases/a/x.deb", secret, 1), /not an object URL/);
            assert.throws(() => signStoreUrl("http://10.0.0.5/releases/x.deb?md5=a", secret, 1), /not an object URL/);
            assert.throws(() => signStoreUrl("http://10.0.0.5/releases/x.deb", secret, 0), /expiry must be a positive whole number of seconds, not 0/);
            assert.throws(() => signStoreUrl("http://10.0.0.5/releases/x.deb", secret, 1.5), /not 1.5/);
            assert.throws(() => signStoreUrl("http://10.0.0.5/releases/x.deb", "short", 1), /signing secret/);
        });

        it("gives the minion's publish command and the copy script for holodeck-publish's --put-url", () => {
            assert.equal(storePublishCommand("http://10.0.0.5:8080"),
                `/usr/local/bin/holodeck-publish --manifest "$manifest" --put-url http://10.0.0.5:8080/releases`);
            assert.equal(storePublishCommand("http://10.0.0.5/"), `/usr/local/bin/holodeck-publish --manifest "$manifest" --put-url http://10.0.0.5/releases`);
            const release = { packageName: "holodeck-hello", version: "1.0.0+git20260102.3f78685", sha256: "ab".repeat(32) };
            assert.equal(storeCopyScript(release, "holodeck-hello_1.0.0+git20260102.3f78685_amd64.deb", "http://10.0.0.5"), [
                "set -euo pipefail",
                `bash "$HOME/holodeck-publish" --copy-object holodeck-hello_1.0.0+git20260102.3f78685_amd64.deb --sha256 ${"ab".repeat(32)} `
                    + "--release 'holodeck-hello 1.0.0+git20260102.3f78685 (sha256 abababababab)' --put-url http://10.0.0.5/releases",
            ].join("\n"));
            assert.equal(storeObjectUrl("http://10.0.0.5:81", "x.deb"), "http://10.0.0.5:81/releases/x.deb");
            assert.equal(storeCredentialLines("holodeck-upload", args.uploadPassword), `holodeck-upload\n${args.uploadPassword}\n`);
            for (const base of ["http://u:p@10.0.0.5", "http://10.0.0.5/releases", "ftp://10.0.0.5", "http://10.0.0.5/?a=b", "10.0.0.5"]) {
                assert.throws(() => storePublishCommand(base), /base URL must be http\(s\):\/\/HOST\[:PORT\] with no path, query or credentials/, base);
            }
            assert.throws(() => storeObjectUrl("http://10.0.0.5", "../x.deb"), /is not an object name/);
            assert.throws(() => storeCopyScript(release, "a b.deb", "http://10.0.0.5"), /is not an object name/);
        });
    });

    describe("holodeck-publish --put-url against a loopback HTTP server", () => {
        const fixture = path.join(__dirname, "fixtures", "publish");
        let scratch: string;
        let server: http.Server;
        let base: string;
        let received: { method: string; url: string; authorization: string; body: Buffer }[];
        before(async () => {
            scratch = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-store-publish-"));
            fs.cpSync(fixture, path.join(scratch, "release"), { recursive: true });
            server = http.createServer((request, response) => {
                const chunks: Buffer[] = [];
                request.on("data", (chunk: Buffer) => chunks.push(chunk));
                request.on("end", () => {
                    received.push({ method: request.method ?? "", url: request.url ?? "", authorization: request.headers.authorization ?? "", body: Buffer.concat(chunks) });
                    response.writeHead(201);
                    response.end();
                });
            });
            await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
            base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        });
        beforeEach(() => (received = []));
        after(async () => {
            await new Promise<void>((resolve) => server.close(() => resolve()));
            fs.rmSync(scratch, { recursive: true, force: true });
        });
        const manifestFile = () => path.join(scratch, "release", "x_1.0_amd64.deb.json");

        it("sends any password byte for byte, quotes and backslashes included, as basic auth of each PUT", async () => {
            const password = `pa"ss\\word\\"${alnum(8)}:$HOME`;
            const result = await publish(scratch, ["--manifest", manifestFile(), "--put-url", `${base}/releases/`], `uploader\n${password}\n`);
            assert.equal(result.status, 0, result.stderr);
            const expected = `Basic ${Buffer.from(`uploader:${password}`).toString("base64")}`;
            assert.deepEqual(received.map((request) => [request.method, request.url, request.authorization]), [
                ["PUT", "/releases/x_1.0_amd64.deb", expected], ["PUT", "/releases/x_1.0_amd64.deb.json", expected],
            ]);
            assert.ok(received[0].body.equals(fs.readFileSync(path.join(scratch, "release", "x_1.0_amd64.deb"))));
            assert.ok(!result.seen.includes(password) && !`${result.stdout}${result.stderr}`.includes(password));
        });

        it("refuses both kinds of store at once, credentials in the URL, and a missing or bad credential, sending nothing", async () => {
            const refusals: [string[], string, RegExp][] = [
                [["--put-url", `${base}/releases`, "--container-url", `${base}/v1/AUTH_x/c`], "u\npassword\n", /--put-url names an nginx store, --container-url and --auth-url a Swift one: give one kind/],
                [["--put-url", `http://u:hidden-password@127.0.0.1/releases`], "u\npassword\n", /--put-url holds credentials/],
                [["--put-url", "ftp://127.0.0.1/releases"], "u\npassword\n", /--put-url 'ftp:\/\/127\.0\.0\.1\/releases' must be an http\(s\) URL/],
                [["--put-url", `${base}/releases`], "", /no upload user on stdin/],
                [["--put-url", `${base}/releases`], "uploader\n", /no upload password on stdin/],
                [["--put-url", `${base}/releases`], "up:loader\npassword\n", /the upload user on stdin \(first line\) must be a non-empty name without ':'/],
            ];
            for (const [flags, stdin, problem] of refusals) {
                const result = await publish(scratch, ["--manifest", manifestFile(), ...flags], stdin);
                assert.equal(result.status, 2, result.stderr);
                assert.match(result.stderr, problem);
                assert.ok(!result.stderr.includes("hidden-password"));
            }
            assert.deepEqual(received, []);
        });
    });

    describe("live: the server image booted as the store", function () {
        // The first run builds the server image: minutes.
        this.timeout(1_200_000);
        const runLabel = `io.holodeck.test.store-server=${randomUUID()}`;
        const port = 8080;
        let scratch: string | undefined;
        let network: string | undefined;
        let container: string;
        let base: string;
        let manifest: { file: string; sha256: string } & Record<string, unknown>;
        let out: string;
        // Every signature this run made: none may be logged.
        const signatures: string[] = [];

        const objectUrl = (object: string) => storeObjectUrl(base, object);
        const signed = (object: string, expires = Math.floor(Date.now() / 1000) + 600) => {
            const url = signStoreUrl(objectUrl(object), args.signingSecret, expires);
            signatures.push(new URL(url).searchParams.get("md5")!);
            return url;
        };
        const basic = (user: string, password: string) => ({ Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` });
        const put = (object: string, body: Buffer, headers: Record<string, string> = {}) => fetch(objectUrl(object), { method: "PUT", body: new Uint8Array(body), headers });
        const upload = (object: string, body: Buffer) => put(object, body, basic(args.uploadUser, args.uploadPassword));
        const bytesOf = async (response: Response) => Buffer.from(await response.arrayBuffer());
        /** The object as the servers get it: a signed GET's status and bytes. */
        const download = async (object: string) => {
            const response = await fetch(signed(object));
            return { status: response.status, body: await bytesOf(response) };
        };

        const credential = () => storeCredentialLines(args.uploadUser, args.uploadPassword);

        before(async function () {
            skipWithoutDocker(this, "the store server tests");
            scratch = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-store-"));
            const image = await serverImage();

            // A network of the test's own, so the store has the fixed address a stack gives it.
            // Another test (or helper) may hold a /24: try others until Docker takes one.
            const name = `holodeck-store-test-${process.pid}`;
            let address = "";
            for (let attempt = 0; attempt < 20 && !network; attempt++) {
                const subnet = `10.${200 + (randomBytes(1)[0] % 50)}.${randomBytes(1)[0]}`;
                const created = spawnSync(dockerClient, ["network", "create", "--driver", "bridge", "--subnet", `${subnet}.0/24`, "--label", runLabel, name], { encoding: "utf8" });
                if (created.status === 0) {
                    network = name;
                    address = `${subnet}.10`;
                } else if (!/overlap/i.test(created.stderr)) {
                    throw new Error(`docker network create failed: ${created.stderr}`);
                }
            }
            assert.ok(network, "Docker took none of 20 random /24 subnets of 10.200-249.x.x for the test's network (all overlap existing ones)");
            base = `http://${address}:${port}`;

            const booted = await bootServer({
                image, label: runLabel, name: `holodeck-store-${process.pid}`, userData: renderStoreUserData({ ...args, port }),
                metaData: { "instance-id": `store-${randomUUID()}` }, dockerArgs: ["--network", network, "--ip", address],
            });
            container = booted.container;
            const context = `state ${booted.state}; failed units:\n${booted.failed || "(none)"}\ncloud-init:\n${booted.cloudInit}`;
            assert.ok(["running", "degraded"].includes(booted.state), context);
            assert.match(booted.cloudInit, /^status: done$/m, context);
            assert.equal((await inside(container, "systemctl", "is-active", "nginx")).trim(), "active", context);

            const repo = path.join(scratch, "repo");
            const commit = commitDirectory(sampleAppDir, repo);
            out = path.join(scratch, "out");
            manifest = buildRelease(["--repo", repo, "--commit", commit, "--out", out, "--find-links", debianWheels]) as unknown as typeof manifest;
        });

        after(function () {
            if (!scratch) return;
            fs.rmSync(scratch, { recursive: true, force: true });
            removeLabelled(runLabel);
            const networks = run(dockerClient, ["network", "ls", "--quiet", "--filter", `label=${runLabel}`]).trim();
            if (networks) run(dockerClient, ["network", "rm", ...networks.split("\n")]);
        });

        it("keeps its secrets in files of the modes rendered, and its objects out of reach of other users", async () => {
            assert.equal(await inside(container, "stat", "-c", "%a %U:%G %n", "/etc/nginx/conf.d/holodeck-store.conf", "/etc/nginx/holodeck-store.htpasswd",
                "/var/lib/holodeck-store", "/var/lib/holodeck-store/releases", "/var/lib/holodeck-store/incoming"), [
                "600 root:root /etc/nginx/conf.d/holodeck-store.conf",
                "640 root:www-data /etc/nginx/holodeck-store.htpasswd",
                "750 root:www-data /var/lib/holodeck-store",
                "700 www-data:www-data /var/lib/holodeck-store/releases",
                "700 www-data:www-data /var/lib/holodeck-store/incoming",
                "",
            ].join("\n"));
        });

        it("refuses a PUT without the upload credential or with a wrong one (401), and stores nothing", async () => {
            const body = randomBytes(64);
            const refused = [
                await put("unauthorised.deb", body),
                await put("unauthorised.deb", body, basic(args.uploadUser, alnum(32))),
                await put("unauthorised.deb", body, basic("someone", args.uploadPassword)),
            ];
            assert.deepEqual(refused.map((response) => response.status), [401, 401, 401]);
            assert.equal((await download("unauthorised.deb")).status, 404);
            assert.equal(await inside(container, "ls", "-A", "/var/lib/holodeck-store/incoming"), "");
        });

        it("stores a PUT with the credential, and serves exactly its bytes to a signed GET; a second PUT replaces it whole", async () => {
            const first = randomBytes(300_000);
            assert.equal((await upload("stored_1.0_amd64.deb", first)).status, 201);
            const got = await download("stored_1.0_amd64.deb");
            assert.equal(got.status, 200);
            assert.ok(got.body.equals(first));
            const head = await fetch(signed("stored_1.0_amd64.deb"), { method: "HEAD" });
            assert.deepEqual([head.status, head.headers.get("content-length")], [200, "300000"]);
            // As Swift does: a rebuild of the same commit (new builder scripts) publishes the same name again.
            const second = randomBytes(1000);
            assert.equal((await upload("stored_1.0_amd64.deb", second)).status, 204);
            assert.ok((await download("stored_1.0_amd64.deb")).body.equals(second));
        });

        it("refuses a GET unsigned (403), badly signed (403), expired (410), or signed for another object (403)", async () => {
            const body = randomBytes(100);
            assert.equal((await upload("guarded.deb", body)).status, 201);
            assert.equal((await upload("other.deb", randomBytes(10))).status, 201);
            const valid = new URL(signed("guarded.deb"));
            const expires = valid.searchParams.get("expires")!;
            const md5 = valid.searchParams.get("md5")!;
            const flipped = `${md5[0] === "A" ? "B" : "A"}${md5.slice(1)}`;
            const status = async (url: string) => (await fetch(url)).status;
            assert.equal(await status(objectUrl("guarded.deb")), 403);
            assert.equal(await status(`${objectUrl("guarded.deb")}?md5=${flipped}&expires=${expires}`), 403);
            // The expiry is signed: moving it on breaks the signature.
            assert.equal(await status(`${objectUrl("guarded.deb")}?md5=${md5}&expires=${Number(expires) + 1}`), 403);
            assert.equal(await status(`${objectUrl("guarded.deb")}?md5=${md5}`), 403);
            assert.equal(await status(signed("guarded.deb", Math.floor(Date.now() / 1000) - 1)), 410);
            assert.equal(await status(`${objectUrl("other.deb")}?md5=${md5}&expires=${expires}`), 403);
            // Basic auth grants uploads only.
            assert.equal((await fetch(objectUrl("guarded.deb"), { headers: basic(args.uploadUser, args.uploadPassword) })).status, 403);
            assert.equal(await status(valid.href), 200);
        });

        it("serves nothing else: no listing, no DELETE or other method, no path outside /releases/NAME", async () => {
            assert.equal((await upload("kept.deb", randomBytes(10))).status, 201);
            const auth = basic(args.uploadUser, args.uploadPassword);
            const statuses = await Promise.all([
                fetch(`${base}/releases/`), fetch(`${base}/releases`), fetch(`${base}/`), fetch(`${base}/releases/kept.deb/`),
                fetch(objectUrl("kept.deb"), { method: "DELETE", headers: auth }),
                fetch(objectUrl("kept.deb"), { method: "POST", headers: auth, body: "x" }),
                fetch(objectUrl("kept.deb"), { method: "MKCOL", headers: auth }),
                fetch(objectUrl("kept.deb"), { method: "PROPFIND", headers: auth }),
                fetch(signed("kept.deb"), { method: "DELETE" }),
                fetch(`${base}/releases/sub/x.deb`, { method: "PUT", headers: auth, body: "x" }),
                fetch(`${base}/elsewhere.deb`, { method: "PUT", headers: auth, body: "x" }),
            ].map(async (request) => (await request).status));
            assert.deepEqual(statuses, [404, 404, 404, 404, 405, 405, 405, 405, 405, 404, 404]);
            assert.equal((await download("kept.deb")).status, 200);
            assert.equal(await inside(container, "find", "/var/lib/holodeck-store", "-mindepth", "1", "-name", "sub", "-o", "-name", "elsewhere.deb"), "");
        });

        it("holodeck-publish --put-url publishes a real .deb and its manifest, the password in no process's argv or environment", async () => {
            const manifestFile = path.join(out, `${manifest.file}.json`);
            const result = await publish(scratch!, ["--manifest", manifestFile, "--put-url", `${base}/releases`], credential());
            assert.equal(result.status, 0, result.stderr);
            const lines = result.stdout.trim().split("\n");
            assert.deepEqual(JSON.parse(lines[lines.length - 1]), JSON.parse(fs.readFileSync(manifestFile, "utf8")));
            const deb = await download(manifest.file);
            assert.equal(deb.status, 200);
            assert.equal(createHash("sha256").update(deb.body).digest("hex"), manifest.sha256);
            assert.ok((await download(`${manifest.file}.json`)).body.equals(fs.readFileSync(manifestFile)));
            // Both uploads went through curl, and every process there was then was searched.
            assert.equal(result.curls, 2);
            assert.ok(!result.seen.includes(args.uploadPassword), "the upload password was in a process's argv or environment");
            assert.ok(!`${result.stdout}${result.stderr}`.includes(args.uploadPassword));
        });

        it("holodeck-publish refuses a wrong password, naming the store and the 401", async () => {
            const manifestFile = path.join(out, `${manifest.file}.json`);
            const wrong = alnum(32);
            const result = await publish(scratch!, ["--manifest", manifestFile, "--put-url", `${base}/releases`], storeCredentialLines("holodeck-upload", wrong).replace(/\n$/, ""));
            assert.equal(result.status, 1);
            assert.match(result.stderr, new RegExp(`the store at ${base}/releases/${manifest.file.replace(/[.+]/g, "\\$&")} refused the upload user holodeck-upload \\(HTTP 401\\): wrong user or password`));
            assert.ok(!result.stderr.includes(wrong));
        });

        it("holodeck-publish copies a release in by its sha256 from a signed URL, and refuses one whose sha256 differs, storing nothing", async () => {
            const label = "holodeck-hello (test)";
            const copy = (object: string, sha256: string, source: string) => publish(scratch!,
                ["--copy-object", object, "--sha256", sha256, "--release", label, "--put-url", `${base}/releases`], `${credential()}${source}\n`);
            const source = signed(manifest.file);
            const signature = new URL(source).searchParams.get("md5")!;

            const copied = await copy("promoted_1.0_amd64.deb", manifest.sha256, source);
            assert.equal(copied.status, 0, copied.stderr);
            assert.deepEqual(JSON.parse(copied.stdout.trim().split("\n").pop()!), { object: "promoted_1.0_amd64.deb", sha256: manifest.sha256, size: manifest.size });
            const stored = await download("promoted_1.0_amd64.deb");
            assert.equal(createHash("sha256").update(stored.body).digest("hex"), manifest.sha256);
            assert.equal(copied.curls, 2);
            assert.ok(!copied.seen.includes(args.uploadPassword), "the upload password was in a process's argv or environment");
            assert.ok(!copied.seen.includes(signature), "the source URL's signature was in a process's argv or environment");

            const other = "cd".repeat(32);
            const mismatch = await copy("mismatch_1.0_amd64.deb", other, source);
            assert.equal(mismatch.status, 1);
            assert.match(mismatch.stderr, new RegExp(`release holodeck-hello \\(test\\): the \\.deb from ${base}/releases/\\S+ has sha256 ${manifest.sha256}, not the verified ${other}: refusing to copy it`));
            assert.equal((await download("mismatch_1.0_amd64.deb")).status, 404);

            const forged = await copy("forged_1.0_amd64.deb", manifest.sha256, source.replace(signature, `${signature[0] === "A" ? "B" : "A"}${signature.slice(1)}`));
            assert.equal(forged.status, 1);
            assert.match(forged.stderr, /answered HTTP 403 for \S+ \(a 403 is a foreign or altered signed URL\)/);
            assert.equal((await download("forged_1.0_amd64.deb")).status, 404);

            const expired = await copy("expired_1.0_amd64.deb", manifest.sha256, signed(manifest.file, 1_700_000_000));
            assert.equal(expired.status, 2);
            assert.match(expired.stderr, /the source's temporary URL for \S+ expired at 2023-11-14T22:13:20Z: update the stack it comes from/);
            for (const run of [copied, mismatch, forged, expired]) assert.ok(!`${run.stdout}${run.stderr}`.includes("md5="), run.stderr);
        });

        it("puts no secret and no signature in its processes' command lines or environments, its logs or its journal", async () => {
            // A signed GET of an object that is not there, and one that has expired: the requests
            // most likely to be logged as errors.
            assert.equal((await download("missing.deb")).status, 404);
            assert.equal((await fetch(signed("kept.deb", 1_700_000_000))).status, 410);
            // Read from this host, whose root may read any process's environment (root in the
            // container may not read the workers', which are www-data's).
            const pids = run(dockerClient, ["top", container, "-o", "pid"]).trim().split("\n").slice(1);
            const environments = pids.map((pid) => {
                try {
                    return fs.readFileSync(`/proc/${pid.trim()}/environ`, "latin1");
                } catch {
                    return "";
                }
            }).join("\n");
            assert.match(environments, /container=docker/);
            const processes = `${await inside(container, "ps", "-eo", "user,args")}${environments}`;
            assert.match(processes, /^www-data +nginx: worker process/m);
            const logs = await inside(container, "sh", "-c", "cat /var/log/nginx/*.log /var/log/cloud-init*.log; journalctl --no-pager -o cat");
            const access = await inside(container, "cat", storeAccessLog);
            assert.match(access, /"GET \/releases\/kept\.deb HTTP\/1\.1" 200 \d+ expires=\d+ user="-"/);
            assert.match(access, /"PUT \/releases\/stored_1\.0_amd64\.deb HTTP\/1\.1" 201 \d+ expires=- user="holodeck-upload"/);
            assert.ok(signatures.length > 10);
            for (const [what, needle] of [["signing secret", args.signingSecret], ["upload password", args.uploadPassword], ...signatures.map((signature) => ["signature", signature])]) {
                assert.ok(!processes.includes(needle), `the ${what} is in a process's command line or environment`);
                assert.ok(!logs.includes(needle), `the ${what} is in a log`);
            }
            assert.doesNotMatch(logs, /md5=/);
            // The access log's expiry column is a number, never a query.
            const result = await runAsync(dockerClient, ["exec", container, "grep", "-c", "?", storeAccessLog]);
            assert.equal(result.stdout.trim(), "0");
        });
    });
});
