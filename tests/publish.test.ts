// builder/holodeck-publish, the real script run by bash and curl, against a fake Keystone v3 and
// Swift served by node:http on 127.0.0.1. The release is tests/fixtures/publish (a few bytes named
// like a .deb, and its manifest), copied into a scratch directory for every run.
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";

const script = path.join(__dirname, "..", "builder", "holodeck-publish");
const fixture = path.join(__dirname, "fixtures", "publish");
const debName = "x_1.0_amd64.deb";
const manifestName = `${debName}.json`;
const authPath = "/identity/v3";
const containerPath = "/swift/v1/AUTH_holodeck/releases";
// Where a copy downloads from: the store of the stack that verified the release.
const sourcePath = "/swift/v1/AUTH_verifier/releases";

interface Manifest {
    name: string;
    version: string;
    file: string;
    sha256: string;
    size: number;
    commit: string;
}

interface Received {
    method: string;
    url: string;
    headers: http.IncomingHttpHeaders;
    body: Buffer;
    /** Command lines or environments of running processes that held the secret or the token. */
    leaks: string[];
}

interface CloudBehaviour {
    /** Keystone's answer to the token request. */
    keystoneStatus: number;
    /** Whether a 201 from Keystone carries X-Subject-Token. */
    issueToken: boolean;
    /** Swift's answer to a PUT of an object whose ETag is right (a wrong one always gets 422). */
    swiftStatus: (object: string) => number;
    /** The source store's answer to a GET below sourcePath, and the bytes it serves. */
    sourceStatus: number;
    sourceBody: Buffer;
    /** More strings no process may hold in its argv or environment (a signed URL's signature). */
    needles: string[];
}

interface FakeCloud {
    authUrl: string;
    containerUrl: string;
    token: string;
    keystone: Received[];
    swift: Received[];
    /** GETs of the source store. */
    source: Received[];
    /** Base URL of the source store's container. */
    sourceUrl: string;
    /** Requests to any other path. */
    stray: Received[];
    close(): Promise<void>;
}

interface Run {
    code: number | null;
    stdout: string;
    stderr: string;
}

const md5 = (data: Buffer): string => createHash("md5").update(data).digest("hex");
const sha256 = (data: Buffer): string => createHash("sha256").update(data).digest("hex");

// Every process's command line and environment, searched while curl talks to the fake cloud.
function processesHolding(needles: string[]): string[] {
    const found: string[] = [];
    for (const pid of fs.readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
        for (const part of ["cmdline", "environ"]) {
            let text: string;
            try {
                text = fs.readFileSync(`/proc/${pid}/${part}`, "latin1");
            } catch {
                continue;
            }
            if (needles.some((needle) => text.includes(needle))) found.push(`${pid}/${part}: ${text.replace(/\0/g, " ")}`);
        }
    }
    return found;
}

async function startCloud(secret: string, behaviour: Partial<CloudBehaviour> = {}): Promise<FakeCloud> {
    const { keystoneStatus = 201, issueToken = true, swiftStatus = () => 201, sourceStatus = 200, sourceBody = Buffer.alloc(0), needles = [] } = behaviour;
    const token = `gAAAAA-fake-token-${randomBytes(12).toString("hex")}`;
    const keystone: Received[] = [];
    const swift: Received[] = [];
    const source: Received[] = [];
    const stray: Received[] = [];

    const server = http.createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on("data", (chunk: Buffer) => chunks.push(chunk));
        request.on("end", () => {
            const received: Received = {
                method: request.method ?? "",
                url: request.url ?? "",
                headers: request.headers,
                body: Buffer.concat(chunks),
                leaks: processesHolding([secret, token, ...needles]),
            };
            if (received.url === `${authPath}/auth/tokens`) {
                keystone.push(received);
                if (keystoneStatus !== 201) {
                    response.writeHead(keystoneStatus, { "Content-Type": "application/json" });
                    response.end(JSON.stringify({ error: { code: keystoneStatus, message: "The request you have made requires authentication.", title: "Unauthorized" } }));
                    return;
                }
                response.writeHead(201, { "Content-Type": "application/json", ...(issueToken ? { "X-Subject-Token": token } : {}) });
                response.end(JSON.stringify({ token: { methods: ["application_credential"], expires_at: "2099-01-01T00:00:00.000000Z" } }));
            } else if (received.url.startsWith(`${containerPath}/`)) {
                swift.push(received);
                const object = received.url.slice(containerPath.length + 1);
                const status = received.headers.etag === md5(received.body) ? swiftStatus(object) : 422;
                response.writeHead(status, status === 201 ? { ETag: md5(received.body) } : { "Content-Type": "text/html" });
                response.end(status === 201 ? "" : `<html><h1>${http.STATUS_CODES[status]}</h1></html>`);
            } else if (received.url.startsWith(`${sourcePath}/`) && received.method === "GET") {
                source.push(received);
                response.writeHead(sourceStatus, { "Content-Type": "application/octet-stream" });
                response.end(sourceStatus === 200 ? sourceBody : "");
            } else {
                stray.push(received);
                response.writeHead(404);
                response.end();
            }
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return {
        authUrl: `${base}${authPath}`,
        containerUrl: `${base}${containerPath}`,
        token,
        keystone,
        swift,
        source,
        sourceUrl: `${base}${sourcePath}`,
        stray,
        close: () => new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
        }),
    };
}

// A loopback URL nothing listens on: a port just released by this process.
async function closedPortUrl(): Promise<string> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return `http://127.0.0.1:${port}${authPath}`;
}

// A loopback server that accepts connections and never answers; `held` counts them.
async function silentServer(): Promise<{ base: string; held: () => number; close(): Promise<void> }> {
    const sockets: net.Socket[] = [];
    const server = net.createServer((socket) => {
        sockets.push(socket);
        socket.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
        base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        held: () => sockets.length,
        close: () => new Promise<void>((resolve) => {
            sockets.forEach((socket) => socket.destroy());
            server.close(() => resolve());
        }),
    };
}

// The minion's environment, near enough: Debian's tools first, no proxy, no ~/.curlrc.
function publish(args: string[], stdin: string, home: string): Promise<Run> {
    return new Promise((resolve, reject) => {
        // Its own process group, so a run that hangs is killed with its subshells and curl.
        const child = spawn("bash", [script, ...args], {
            env: { PATH: "/usr/bin:/bin", HOME: home, LANG: "C.UTF-8" },
            stdio: ["pipe", "pipe", "pipe"],
            detached: true,
        });
        const stdout: Buffer[] = [];
        const stderr: Buffer[] = [];
        const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 10_000);
        child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
        child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
        child.on("error", reject);
        child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code, stdout: Buffer.concat(stdout).toString("utf8"), stderr: Buffer.concat(stderr).toString("utf8") });
        });
        // The script may refuse its arguments before it reads stdin.
        child.stdin.on("error", () => undefined);
        child.stdin.end(stdin);
    });
}

const literal = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function lastLine(text: string): string {
    return text.trimEnd().split("\n").pop() ?? "";
}

// One line `holodeck-publish: error: ...` last on stderr, exit code 2 for bad input or 1 for a
// store that did not take the release, and no manifest on stdout (the program would take it for
// a published release).
function assertRefused(run: Run, pattern: RegExp, code: 1 | 2): void {
    const last = lastLine(run.stderr);
    assert.match(last, /^holodeck-publish: error: /, run.stderr);
    assert.match(last, pattern, run.stderr);
    assert.equal(run.code, code, run.stderr);
    assert.equal(run.stdout, "");
}

describe("holodeck-publish", function () {
    this.timeout(15_000);

    // A credential secret as Keystone might not generate it, to check it is sent as JSON properly.
    const credentialId = `ac${randomBytes(8).toString("hex")}`;
    const secret = `s3cr3t-${randomBytes(8).toString("hex")}-"quoted"\\back$HOME`;
    const credential = `${credentialId}\n${secret}\n`;
    let scratch: string;
    let release: string;
    let manifestFile: string;
    let deb: Buffer;
    let manifestBytes: Buffer;
    let manifest: Manifest;
    let cloud: FakeCloud | undefined;

    const argsFor = (target: FakeCloud, extra: Partial<Record<string, string>> = {}): string[] => {
        const values = { "--manifest": manifestFile, "--container-url": target.containerUrl, "--auth-url": target.authUrl, ...extra };
        return Object.entries(values).flatMap(([flag, value]) => (value === undefined ? [] : [flag, value]));
    };

    const assertNothingSent = (target: FakeCloud): void => {
        assert.deepEqual(target.keystone.map((request) => request.url), []);
        assert.deepEqual(target.swift.map((request) => request.url), []);
        assert.deepEqual(target.stray.map((request) => request.url), []);
    };

    const assertSecretKept = (run: Run, target: FakeCloud): void => {
        const output = run.stdout + run.stderr;
        assert.ok(!output.includes(secret), "the secret was printed");
        assert.ok(!output.includes(target.token), "the token was printed");
    };

    // A fresh copy of the release for each run, so one may spoil it.
    let releases = 0;
    const freshRelease = (): void => {
        release = path.join(scratch, `release-${releases++}`);
        fs.mkdirSync(release);
        fs.writeFileSync(path.join(release, debName), deb);
        fs.writeFileSync(path.join(release, manifestName), manifestBytes);
        manifestFile = path.join(release, manifestName);
    };

    before(() => {
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-publish-"));
        deb = fs.readFileSync(path.join(fixture, debName));
        manifestBytes = fs.readFileSync(path.join(fixture, manifestName));
        manifest = JSON.parse(manifestBytes.toString("utf8")) as Manifest;
        assert.equal(manifest.sha256, sha256(deb), "the fixture's manifest matches its .deb");
        assert.equal(manifest.size, deb.length);
    });
    after(() => fs.rmSync(scratch, { recursive: true, force: true }));

    beforeEach(freshRelease);
    afterEach(async () => {
        await cloud?.close();
        cloud = undefined;
    });

    describe("a release Keystone and Swift accept", () => {
        let run: Run;
        let target: FakeCloud;

        // One run, looked at from each side.
        before(async () => {
            freshRelease();
            target = await startCloud(secret);
            run = await publish(argsFor(target), credential, scratch);
            assert.equal(run.code, 0, run.stderr);
        });
        after(() => target.close());

        it("asks Keystone for a token with exactly the application credential from stdin", () => {
            assert.equal(target.keystone.length, 1);
            const [request] = target.keystone;
            assert.equal(request.method, "POST");
            assert.equal(request.url, `${authPath}/auth/tokens`);
            assert.equal(request.headers["content-type"], "application/json");
            assert.deepEqual(JSON.parse(request.body.toString("utf8")), {
                auth: { identity: { methods: ["application_credential"], application_credential: { id: credentialId, secret } } },
            });
            assert.deepEqual(target.stray.map((stray) => stray.url), []);
        });

        it("PUTs the .deb and then its manifest into the container, byte for byte, with the token, ETag, sha256 and type", () => {
            const expected = [
                { object: debName, body: deb, type: "application/vnd.debian.binary-package" },
                { object: manifestName, body: manifestBytes, type: "application/json" },
            ];
            assert.deepEqual(target.swift.map((request) => `${request.method} ${request.url}`),
                expected.map(({ object }) => `PUT ${containerPath}/${object}`));
            target.swift.forEach((request, index) => {
                const { object, body, type } = expected[index];
                assert.ok(request.body.equals(body), `${object}: the bytes sent differ from the file`);
                assert.equal(request.headers["content-length"], String(body.length));
                assert.equal(request.headers["x-auth-token"], target.token, object);
                assert.equal(request.headers.etag, md5(body), object);
                assert.equal(request.headers["x-object-meta-sha256"], sha256(body), object);
                assert.equal(request.headers["content-type"], type, object);
            });
            assert.equal(target.swift[0].headers["x-object-meta-sha256"], manifest.sha256);
        });

        it("prints the manifest last on stdout, as one line of JSON", () => {
            const line = lastLine(run.stdout);
            assert.ok(!line.includes("\n"));
            assert.deepEqual(JSON.parse(line), manifest);
        });

        it("never shows the secret or the token: not on stdout or stderr, not in any process's argv or environment", () => {
            assertSecretKept(run, target);
            for (const request of [...target.keystone, ...target.swift]) assert.deepEqual(request.leaks, [], request.url);
        });

        it("takes a container URL with a trailing slash", async () => {
            cloud = await startCloud(secret);
            const again = await publish(argsFor(cloud, { "--container-url": `${cloud.containerUrl}/` }), credential, scratch);
            assert.equal(again.code, 0, again.stderr);
            assert.deepEqual(cloud.swift.map((request) => request.url), [`${containerPath}/${debName}`, `${containerPath}/${manifestName}`]);
        });

        it("takes a secret with no newline after it (printf '%s\\n%s' ID SECRET)", async () => {
            cloud = await startCloud(secret);
            const run = await publish(argsFor(cloud), `${credentialId}\n${secret}`, scratch);
            assert.equal(run.code, 0, run.stderr);
            assert.equal(cloud.keystone.length, 1);
            assert.deepEqual(JSON.parse(cloud.keystone[0].body.toString("utf8")).auth.identity.application_credential, { id: credentialId, secret });
            assert.equal(cloud.swift.length, 2);
        });
    });

    describe("Keystone", () => {
        it("rejecting the credential (401) stops before any upload, naming Keystone and the HTTP status", async () => {
            cloud = await startCloud(secret, { keystoneStatus: 401 });
            const run = await publish(argsFor(cloud), credential, scratch);
            assertRefused(run, /Keystone.*\b401\b/, 1);
            assert.equal(cloud.keystone.length, 1);
            assert.deepEqual(cloud.swift.map((request) => request.url), []);
            assertSecretKept(run, cloud);
        });

        it("answering 201 without X-Subject-Token stops before any upload", async () => {
            cloud = await startCloud(secret, { issueToken: false });
            const run = await publish(argsFor(cloud), credential, scratch);
            assertRefused(run, /Keystone.*no token/, 1);
            assert.deepEqual(cloud.swift.map((request) => request.url), []);
        });

        it("out of reach stops with an error line naming it", async () => {
            cloud = await startCloud(secret);
            const authUrl = await closedPortUrl();
            const run = await publish(argsFor(cloud, { "--auth-url": authUrl }), credential, scratch);
            assertRefused(run, new RegExp(`Keystone.*${literal(authUrl)}`), 1);
            assertNothingSent(cloud);
            assertSecretKept(run, cloud);
        });
    });

    describe("Swift", () => {
        it("refusing the .deb (403) stops with an error line naming the object's URL, and the manifest is not uploaded", async () => {
            cloud = await startCloud(secret, { swiftStatus: () => 403 });
            const run = await publish(argsFor(cloud), credential, scratch);
            assertRefused(run, new RegExp(`${literal(`${cloud.containerUrl}/${debName}`)}(?![\\w.]).*\\b403\\b`), 1);
            assert.deepEqual(cloud.swift.map((request) => request.url), [`${containerPath}/${debName}`]);
            assertSecretKept(run, cloud);
        });

        it("refusing the manifest (422) stops with an error line naming the manifest's URL and prints no manifest", async () => {
            cloud = await startCloud(secret, { swiftStatus: (object) => (object === manifestName ? 422 : 201) });
            const run = await publish(argsFor(cloud), credential, scratch);
            assertRefused(run, new RegExp(`${literal(`${cloud.containerUrl}/${manifestName}`)}(?![\\w.]).*\\b422\\b`), 1);
            assert.deepEqual(cloud.swift.map((request) => request.url), [`${containerPath}/${debName}`, `${containerPath}/${manifestName}`]);
        });
    });

    describe("refusals before anything is sent", () => {
        beforeEach(async () => {
            cloud = await startCloud(secret);
        });

        it("a .deb that no longer matches the manifest's sha256: exit 2", async () => {
            fs.appendFileSync(path.join(release, debName), "x");
            const run = await publish(argsFor(cloud!), credential, scratch);
            assertRefused(run, new RegExp(`${literal(debName)} does not match the sha256`), 2);
            assertNothingSent(cloud!);
        });

        it("no credential on stdin", async () => {
            const run = await publish(argsFor(cloud!), "", scratch);
            assertRefused(run, /no application credential ID on stdin/, 2);
            assertNothingSent(cloud!);
        });

        it("a credential ID but no secret on stdin", async () => {
            const run = await publish(argsFor(cloud!), `${credentialId}\n`, scratch);
            assertRefused(run, /no application credential secret on stdin/, 2);
            assertNothingSent(cloud!);
        });

        it("no --manifest", async () => {
            const run = await publish(argsFor(cloud!, { "--manifest": undefined }), credential, scratch);
            assertRefused(run, /--manifest '' is not a file/, 2);
            assertNothingSent(cloud!);
        });

        it("a --manifest that is not a file", async () => {
            const run = await publish(argsFor(cloud!, { "--manifest": release }), credential, scratch);
            assertRefused(run, /--manifest '.*' is not a file/, 2);
            assertNothingSent(cloud!);
        });

        it("a container URL that is not http(s)", async () => {
            const run = await publish(argsFor(cloud!, { "--container-url": "ftp://127.0.0.1/releases" }), credential, scratch);
            assertRefused(run, /--container-url 'ftp:\/\/127\.0\.0\.1\/releases' must be an http\(s\) URL/, 2);
            assertNothingSent(cloud!);
        });

        it("an auth URL that is not http(s)", async () => {
            const run = await publish(argsFor(cloud!, { "--auth-url": "127.0.0.1:5000/v3" }), credential, scratch);
            assertRefused(run, /--auth-url '127\.0\.0\.1:5000\/v3' must be an http\(s\) URL/, 2);
            assertNothingSent(cloud!);
        });

        it("an unknown argument, and a flag without its value", async () => {
            const unknown = await publish([...argsFor(cloud!), "--secret", "s"], credential, scratch);
            assertRefused(unknown, /unknown argument '--secret' \(usage: /, 2);
            const bare = await publish([...argsFor(cloud!), "--auth-url"], credential, scratch);
            assertRefused(bare, /--auth-url needs a value/, 2);
            assertNothingSent(cloud!);
        });
    });

    describe("a Keystone or Swift that accepts and never answers", () => {
        let silent: Awaited<ReturnType<typeof silentServer>>;
        beforeEach(async () => {
            silent = await silentServer();
        });
        afterEach(() => silent.close());

        it("Keystone: gives up after --read-timeout, naming Keystone's URL and the timeout, and uploads nothing", async () => {
            cloud = await startCloud(secret);
            const authUrl = `${silent.base}${authPath}`;
            const started = Date.now();
            const run = await publish([...argsFor(cloud, { "--auth-url": authUrl }), "--read-timeout", "1"], credential, scratch);
            assertRefused(run, new RegExp(`Keystone at ${literal(`${authUrl}/auth/tokens`)} accepted the connection but sent nothing for 1 s \\(--read-timeout\\)`), 1);
            assert.ok(Date.now() - started < 5000, "it did not wait much longer than its timeout");
            assert.ok(silent.held() >= 1, "the request reached the silent server");
            assertNothingSent(cloud);
            assertSecretKept(run, cloud);
        });

        it("Swift: gives up after --read-timeout, naming the object's URL, and uploads no manifest", async () => {
            cloud = await startCloud(secret);
            const containerUrl = `${silent.base}${containerPath}`;
            const run = await publish([...argsFor(cloud, { "--container-url": containerUrl }), "--read-timeout", "1"], credential, scratch);
            assertRefused(run, new RegExp(`Swift at ${literal(`${containerUrl}/${debName}`)} accepted the connection but sent nothing for 1 s`), 1);
            assert.equal(cloud.keystone.length, 1);
            assert.equal(silent.held(), 1, "one upload tried, the manifest's never");
            assertSecretKept(run, cloud);
        });

        it("refuses timeouts that are not whole seconds", async () => {
            cloud = await startCloud(secret);
            for (const value of ["0", "1.5", "soon"]) {
                const run = await publish([...argsFor(cloud), "--read-timeout", value], credential, scratch);
                assertRefused(run, new RegExp(`timeout '${literal(value)}' must be a whole number of seconds`), 2);
            }
            assertNothingSent(cloud);
        });
    });

    describe("malformed manifests: one error line, exit 2, nothing sent", () => {
        const malformed: [string, () => Buffer | string, RegExp][] = [
            ["text that is not JSON", () => "{\"file\": ", /it is not JSON \(Expecting .*\)/],
            ["bytes that are not UTF-8", () => Buffer.from([0xff, 0xfe, 0x7b]), /it is not JSON \(.*can't decode.*\)/],
            ["a JSON array", () => "[]", /it is not a JSON object/],
            ["no file", () => JSON.stringify({ ...manifest, file: undefined }), /"file" must be the name of the \.deb beside it, not null/],
            ["a file outside the manifest's directory", () => JSON.stringify({ ...manifest, file: `../${debName}` }), /"file" must be the name of the \.deb beside it, not "\.\.\/x_1\.0_amd64\.deb"/],
            ["a sha256 that is no sha256", () => JSON.stringify({ ...manifest, sha256: 42 }), /"sha256" must be 64 lowercase hex digits, not 42/],
        ];
        for (const [what, content, problem] of malformed) {
            it(what, async () => {
                cloud = await startCloud(secret);
                fs.writeFileSync(manifestFile, content());
                const run = await publish(argsFor(cloud), credential, scratch);
                assertRefused(run, new RegExp(`--manifest '${literal(manifestFile)}' is not a manifest of holodeck-build: ${problem.source}; give the \\.json holodeck-build wrote`), 2);
                assert.equal(run.stderr.trimEnd().split("\n").length, 1, run.stderr);
                assert.doesNotMatch(run.stderr, /Traceback/);
                assertNothingSent(cloud);
            });
        }
    });

    describe("credentials in a URL", () => {
        for (const flag of ["--auth-url", "--container-url"] as const) {
            it(`are refused in ${flag} without being shown`, async () => {
                cloud = await startCloud(secret);
                const password = `pw-${randomBytes(6).toString("hex")}`;
                const url = (flag === "--auth-url" ? cloud.authUrl : cloud.containerUrl).replace("://", `://admin:${password}@`);
                const run = await publish(argsFor(cloud, { [flag]: url }), credential, scratch);
                assertRefused(run, new RegExp(`${flag} holds credentials \\(user:password@ before the host\\): remove them`), 2);
                assert.ok(!(run.stdout + run.stderr).includes(password), "the password was printed");
                assertNothingSent(cloud);
            });
        }
    });

    describe("copying a verified release from another store (promotion)", () => {
        const label = "x 1.0 (sha256 d25aedc21b27)";
        const signature = randomBytes(20).toString("hex");
        const sourceUrl = (target: FakeCloud, expires = Math.floor(Date.now() / 1000) + 3600): string =>
            `${target.sourceUrl}/${debName}?temp_url_sig=${signature}&temp_url_expires=${expires}`;
        const copyArgs = (target: FakeCloud, extra: string[] = []): string[] => [
            "--copy-object", debName, "--sha256", manifest.sha256, "--release", label,
            "--container-url", target.containerUrl, "--auth-url", target.authUrl, ...extra,
        ];
        const assertSignatureKept = (run: Run): void => assert.ok(!(run.stdout + run.stderr).includes(signature), "the signature was printed");
        const shown = (target: FakeCloud): string => literal(`${target.sourceUrl}/${debName}`);

        it("downloads the .deb from the source URL on stdin, checks its sha256 and uploads it under its name, the signature never shown", async () => {
            cloud = await startCloud(secret, { sourceBody: deb, needles: [signature] });
            const run = await publish(copyArgs(cloud), `${credential}${sourceUrl(cloud)}\n`, scratch);
            assert.equal(run.code, 0, run.stderr);
            assert.deepEqual(cloud.source.map((request) => request.url.replace(/expires=\d+/, "expires=N")),
                [`${sourcePath}/${debName}?temp_url_sig=${signature}&temp_url_expires=N`]);
            assert.equal(cloud.keystone.length, 1);
            assert.deepEqual(cloud.swift.map((request) => `${request.method} ${request.url}`), [`PUT ${containerPath}/${debName}`]);
            const [put] = cloud.swift;
            assert.ok(put.body.equals(deb), "the bytes uploaded are the bytes downloaded");
            assert.equal(put.headers["x-object-meta-sha256"], manifest.sha256);
            assert.equal(put.headers["x-auth-token"], cloud.token);
            assert.deepEqual(JSON.parse(lastLine(run.stdout)), { object: debName, sha256: manifest.sha256, size: deb.length });
            assertSignatureKept(run);
            assertSecretKept(run, cloud);
            for (const request of [...cloud.source, ...cloud.keystone, ...cloud.swift]) assert.deepEqual(request.leaks, [], request.url);
        });

        it("refuses a .deb whose sha256 is not the verified one, naming the release, and uploads nothing", async () => {
            const tampered = Buffer.concat([deb, Buffer.from("x")]);
            cloud = await startCloud(secret, { sourceBody: tampered });
            const run = await publish(copyArgs(cloud), `${credential}${sourceUrl(cloud)}\n`, scratch);
            assertRefused(run, new RegExp(`release ${literal(label)}: the \\.deb from ${shown(cloud)} has sha256 ${sha256(tampered)}, not the verified ${manifest.sha256}: refusing to copy it$`), 1);
            assert.equal(cloud.source.length, 1);
            assert.deepEqual([cloud.keystone.length, cloud.swift.length], [0, 0], "no token asked for, nothing uploaded");
            assertSignatureKept(run);
        });

        it("reports a source that refuses the URL with its HTTP status, without the signature", async () => {
            cloud = await startCloud(secret, { sourceStatus: 401 });
            const run = await publish(copyArgs(cloud), `${credential}${sourceUrl(cloud)}\n`, scratch);
            assertRefused(run, new RegExp(`release ${literal(label)}: the source store answered HTTP 401 for ${shown(cloud)} \\(a 401 is an expired or foreign temporary URL\\)`), 1);
            assert.deepEqual([cloud.keystone.length, cloud.swift.length], [0, 0]);
            assertSignatureKept(run);
        });

        it("refuses an expired source URL before asking anyone, saying how to renew it", async () => {
            cloud = await startCloud(secret, { sourceBody: deb });
            const run = await publish(copyArgs(cloud), `${credential}${sourceUrl(cloud, 1_700_000_000)}\n`, scratch);
            assertRefused(run, new RegExp(`release ${literal(label)}: the source's temporary URL for ${shown(cloud)} expired at 2023-11-14T22:13:20Z: update the stack it comes from`), 2);
            assertNothingSent(cloud);
            assert.equal(cloud.source.length, 0);
            assertSignatureKept(run);
        });

        it("gives up on a source that never answers, naming it without its query", async () => {
            const silent = await silentServer();
            try {
                cloud = await startCloud(secret);
                const url = `${silent.base}${sourcePath}/${debName}?temp_url_sig=${signature}&temp_url_expires=${Math.floor(Date.now() / 1000) + 3600}`;
                const run = await publish(copyArgs(cloud, ["--read-timeout", "1"]), `${credential}${url}\n`, scratch);
                assertRefused(run, new RegExp(`the source store at ${literal(`${silent.base}${sourcePath}/${debName}`)} accepted the connection but sent nothing for 1 s`), 1);
                assertNothingSent(cloud);
                assertSignatureKept(run);
            } finally {
                await silent.close();
            }
        });

        it("refuses a missing source URL, a bad sha256, and --manifest with --copy-object", async () => {
            cloud = await startCloud(secret, { sourceBody: deb });
            assertRefused(await publish(copyArgs(cloud), credential, scratch), /release x 1\.0 .*: no source URL on stdin \(third line\)/, 2);
            const badSha = copyArgs(cloud).map((arg) => (arg === manifest.sha256 ? "D25A" : arg));
            assertRefused(await publish(badSha, `${credential}${sourceUrl(cloud)}\n`, scratch), /--sha256 'D25A' must be 64 lowercase hex digits/, 2);
            assertRefused(await publish([...copyArgs(cloud), "--manifest", manifestFile], `${credential}${sourceUrl(cloud)}\n`, scratch), /give one of them/, 2);
            assertNothingSent(cloud);
            assert.equal(cloud.source.length, 0);
        });
    });
});
