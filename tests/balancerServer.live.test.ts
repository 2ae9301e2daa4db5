// The docker substrate's balancer: its user data and switch script rendered and checked, then run
// for real: the server image booted as the balancer (Debian's haproxy 2.6) on a Docker network of
// the test's own, in front of tiny app containers, switched between releases under load.
// Needs a Docker engine; without one the live suite is skipped, loudly.
import * as assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import {
    adminSocketPath,
    balancerBaseConfig,
    BalancerCanaryArgs,
    balancerCanaryScript,
    balancerLiveScript,
    BalancerSwitchArgs,
    balancerSwitchScript,
    canaryServerName,
    liveMapPath,
    masterSocketPath,
    releaseBackendConfig,
    releaseHeader,
    renderBalancerUserData,
} from "../lib/balancerServer";
import { shellQuote } from "../lib/shell";
import { dockerClient, dockerUnavailable, skipWithoutDocker } from "../tools/docker";
import { sshKeygenEd25519 } from "../tools/offlineRun";
import { run, runAsync } from "../tools/localRelease";
import { bootServer, inside, removeLabelled, serverImage } from "../tools/serverContainer";

const key = sshKeygenEd25519();
const releaseA: BalancerSwitchArgs = { releaseId: "a00000000001", servers: ["10.1.2.3", "10.1.2.4"], port: 8000 };
const canaryB: BalancerCanaryArgs = { releaseId: "b00000000002", servers: ["10.1.2.5"], port: 8000, soakSeconds: 30 };

interface CloudConfig {
    ssh_keys: Record<string, string>;
    write_files: { path: string; content: string; permissions: string }[];
    runcmd: string[];
}

const readUserData = (text: string) => parse(text.replace(/^#cloud-config\n/, ""), { version: "1.1" }) as CloudConfig;

describe("the balancer server's user data and switch script", function () {
    it("renders the same documents from the same inputs, and different ones from different inputs", function () {
        assert.equal(renderBalancerUserData({ sshHostKey: key }), renderBalancerUserData({ sshHostKey: key }));
        assert.equal(renderBalancerUserData({ sshHostKey: key }), renderBalancerUserData({ sshHostKey: key, port: 80 }));
        assert.notEqual(renderBalancerUserData({ sshHostKey: key }), renderBalancerUserData({ sshHostKey: key, port: 8080 }));
        assert.equal(balancerSwitchScript(releaseA), balancerSwitchScript({ ...releaseA, servers: [...releaseA.servers] }));
        assert.notEqual(balancerSwitchScript(releaseA), balancerSwitchScript({ ...releaseA, servers: ["10.1.2.4", "10.1.2.3"] }));
    });

    it("writes haproxy's configuration, its unit's settings and the host key, and starts haproxy", function () {
        const document = readUserData(renderBalancerUserData({ sshHostKey: key, port: 8080 }));
        assert.equal(document.ssh_keys.ed25519_public, key.publicKeyOpenssh.trim());
        const files = Object.fromEntries(document.write_files.map((file) => [file.path, file]));
        assert.deepEqual(Object.keys(files).sort(), [
            "/etc/default/haproxy", "/etc/haproxy/holodeck/00-balancer.cfg", liveMapPath, "/etc/systemd/system/haproxy.service.d/holodeck.conf",
        ]);
        assert.equal(files["/etc/haproxy/holodeck/00-balancer.cfg"].content, balancerBaseConfig(8080));
        assert.match(balancerBaseConfig(8080), /^ {4}bind :8080$/m);
        assert.match(balancerBaseConfig(), /^ {4}bind :80$/m);
        assert.match(balancerBaseConfig(), new RegExp(`^ {4}stats socket ${adminSocketPath} mode 600 level admin$`, "m"));
        assert.equal(files[liveMapPath].content, "live no-release\n");
        assert.match(files["/etc/default/haproxy"].content, new RegExp(`^EXTRAOPTS="-S ${masterSocketPath},mode,600"$`, "m"));
        assert.deepEqual(document.runcmd, ["set -e", "haproxy -c -f /etc/haproxy/holodeck", "systemctl daemon-reload", "systemctl enable --now haproxy"]);
    });

    it("passes cloud-init's schema and shellcheck", function () {
        const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-balancer-"));
        try {
            const userData = path.join(scratch, "user-data");
            fs.writeFileSync(userData, renderBalancerUserData({ sshHostKey: key }));
            run("cloud-init", ["schema", "--config-file", userData]);
            for (const [name, script] of [["switch", balancerSwitchScript(releaseA)], ["canary", balancerCanaryScript(canaryB)], ["live", balancerLiveScript()]]) {
                fs.writeFileSync(path.join(scratch, name), script);
                run("shellcheck", ["--shell=bash", path.join(scratch, name)]);
            }
        } finally {
            fs.rmSync(scratch, { recursive: true, force: true });
        }
    });

    it("checks each server of a release on GET /health and names the server's release in a response header", function () {
        assert.equal(releaseBackendConfig({ ...releaseA, servers: ["10.1.2.3", "app-1.internal"] }), [
            "backend release-a00000000001",
            "    balance roundrobin",
            "    option httpchk GET /health",
            "    http-check expect status 200",
            `    http-response set-header ${releaseHeader} %[srv_name,field(1,.)]`,
            "    server a00000000001.s0 10.1.2.3:8000 check inter 1s fall 2 rise 1",
            "    server a00000000001.s1 app-1.internal:8000 check inter 1s fall 2 rise 1",
            "",
        ].join("\n"));
    });

    it("refuses bad inputs, naming them", function () {
        assert.throws(() => renderBalancerUserData({ sshHostKey: key, port: 0 }), /port must be a TCP port \(1-65535\), not 0/);
        assert.throws(() => renderBalancerUserData({ sshHostKey: key, port: 80.5 }), /port must be a TCP port/);
        assert.throws(() => renderBalancerUserData({ sshHostKey: { ...key, privateKeyOpenssh: "nope" } }), /OpenSSH private key/);
        const refusals: [Partial<BalancerSwitchArgs>, RegExp][] = [
            [{ releaseId: "" }, /releaseId must be .*not ""/],
            [{ releaseId: "a b" }, /releaseId must be .*not "a b"/],
            [{ releaseId: "a\nb" }, /releaseId must be/],
            [{ releaseId: "-a" }, /releaseId must be/],
            [{ releaseId: "x".repeat(64) }, /releaseId must be/],
            [{ servers: [] }, /release a00000000001 has no servers/],
            [{ servers: ["10.1.2.3:80"] }, /server "10.1.2.3:80" of release a00000000001 is neither an IPv4 address nor a host name/],
            [{ servers: ["10.1.2.300"] }, /server "10.1.2.300" .* neither/],
            [{ servers: ["a;reboot"] }, /server "a;reboot" .* neither/],
            [{ servers: ["10.1.2.3", "10.1.2.3"] }, /lists a server twice: 10.1.2.3, 10.1.2.3/],
            [{ port: 65536 }, /port must be a TCP port \(1-65535\), not 65536/],
            [{ timeoutSeconds: 0 }, /timeoutSeconds must be a positive whole number, not 0/],
        ];
        for (const [change, problem] of refusals) {
            assert.throws(() => balancerSwitchScript({ ...releaseA, ...change }), problem, JSON.stringify(change));
            assert.throws(() => balancerCanaryScript({ ...canaryB, releaseId: releaseA.releaseId, ...change }), problem, JSON.stringify(change));
        }
        assert.throws(() => balancerCanaryScript({ ...canaryB, soakSeconds: 0.5 }), /soakSeconds must be a positive whole number, not 0.5/);
    });

    it("names each canary server after its release, so the response header names the canary's release", function () {
        assert.equal(canaryServerName("b00000000002", 1), "b00000000002.canary1");
        const script = balancerCanaryScript({ ...canaryB, servers: ["10.1.2.5", "10.1.2.6"] });
        assert.match(script, /^names=\(b00000000002\.canary0 b00000000002\.canary1\)$/m);
        assert.match(script, /^addresses=\(10\.1\.2\.5:8000 10\.1\.2\.6:8000\)$/m);
    });
});

// Every container and the network of this run carry it: the cleanup removes exactly these.
const runLabel = `io.holodeck.test.balancer=${randomUUID()}`;
const network = `holodeck-balancer-${process.pid}`;
// Fixed, so that every address is known before anything starts; unlikely to be taken.
const subnet = "10.213.77.0/24";
const address = (host: number) => `10.213.77.${host}`;
const balancerAddress = address(10);
const appPort = 8000;

/** The app: / answers its version with `pageStatus`, /health {"version": ...} with `healthStatus`. */
const appProgram = `
import http.server, json, sys
version, health_status, page_status = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
class App(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        health = self.path == "/health"
        body = (json.dumps({"version": version}) if health else version).encode()
        self.send_response(health_status if health else page_status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", ${appPort}), App).serve_forever()
`;

interface Answer {
    readonly status: number;
    readonly release: string | undefined;
    readonly body: string;
}

/** One GET through the balancer; `agent` false opens a connection for it alone. */
function get(pathname: string, agent: http.Agent | false, timeoutMs = 10_000): Promise<Answer> {
    return new Promise((resolve, reject) => {
        const request = http.get({ host: balancerAddress, port: 80, path: pathname, agent, timeout: timeoutMs }, (response) => {
            let body = "";
            response.setEncoding("utf8");
            response.on("data", (chunk: string) => (body += chunk));
            response.on("end", () => resolve({ status: response.statusCode ?? 0, release: response.headers[releaseHeader.toLowerCase()] as string | undefined, body }));
            response.on("error", reject);
        });
        request.on("timeout", () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
        request.on("error", reject);
    });
}

interface Sample {
    readonly client: number;
    readonly start: number;
    readonly end: number;
    readonly answer?: Answer;
    readonly error?: string;
}

describe("the balancer server, live", function () {
    this.timeout(600_000);
    let balancer: string;
    const releases = {
        A: { releaseId: "a00000000001", servers: [address(21), address(22)], port: appPort },
        B: { releaseId: "b00000000002", servers: [address(31), address(32)], port: appPort },
        // Its servers answer / but fail /health.
        C: { releaseId: "c00000000003", servers: [address(41)], port: appPort },
        D: { releaseId: "d00000000004", servers: [address(51)], port: appPort },
        // Canaries: E is sound, F answers / with 500 (its /health is fine).
        E: { releaseId: "e00000000005", servers: [address(61)], port: appPort },
        F: { releaseId: "f00000000006", servers: [address(71)], port: appPort },
    };
    const versionOf = { a00000000001: "A", b00000000002: "B", c00000000003: "C", d00000000004: "D", e00000000005: "E", f00000000006: "F" } as Record<string, string>;

    let sshDir: string;
    /**
     * Runs `script` on the balancer as the program's remote Command does: over SSH as the admin
     * user, the host key pinned, `sudo bash -c SCRIPT`.
     */
    function onBalancer(script: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
        return runAsync("ssh", [
            "-i", path.join(sshDir, "admin"), "-o", `UserKnownHostsFile=${path.join(sshDir, "known_hosts")}`, "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-F", "/dev/null", `debian@${balancerAddress}`, `sudo bash -c ${shellQuote(script)}`,
        ]);
    }

    async function switchTo(release: BalancerSwitchArgs): Promise<string> {
        const result = await onBalancer(balancerSwitchScript(release));
        assert.equal(result.status, 0, `switch to ${release.releaseId} failed:\n${result.stdout}${result.stderr}`);
        return result.stdout;
    }

    const live = async () => (await onBalancer(balancerLiveScript())).stdout;
    const workers = async () => inside(balancer, "bash", "-c",
        `python3 -c 'import socket; s = socket.socket(socket.AF_UNIX); s.connect("${masterSocketPath}"); s.sendall(b"show proc\\n"); s.shutdown(socket.SHUT_WR); print(s.makefile().read())' | awk '/^[0-9]+ +worker/ { print $1 }'`);

    /** `count` sequential GETs of / through a fresh keep-alive connection. */
    async function versionsSeen(count: number): Promise<string[]> {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        try {
            const seen: string[] = [];
            for (let i = 0; i < count; i++) {
                const answer = await get("/", agent);
                seen.push(`${answer.status} ${answer.body} ${answer.release ?? "-"}`);
            }
            return seen;
        } finally {
            agent.destroy();
        }
    }

    before(async function () {
        skipWithoutDocker(this, "the live balancer tests");
        const image = await serverImage();
        run(dockerClient, ["network", "create", "--label", runLabel, "--subnet", subnet, network]);
        // The server image has python3; the minimal base image has not.
        const app = (name: string, ip: string, version: string) => run(dockerClient, [
            "run", "--detach", "--label", runLabel, "--name", `${network}-${name}`, "--network", network, "--ip", ip,
            image, "python3", "-c", appProgram, version, version === "C" ? "500" : "200", version === "F" ? "500" : "200",
        ]);
        for (const [version, release] of Object.entries(releases)) {
            release.servers.forEach((ip, index) => app(`${version}${index}`, ip, version));
        }
        // The admin's key reaches user debian through the meta-data, as a Nova key pair's does.
        const admin = sshKeygenEd25519();
        sshDir = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-balancer-ssh-"));
        fs.writeFileSync(path.join(sshDir, "admin"), admin.privateKeyOpenssh, { mode: 0o600 });
        fs.writeFileSync(path.join(sshDir, "known_hosts"), `${balancerAddress} ${key.publicKeyOpenssh}`);
        const booted = await bootServer({
            image, label: runLabel, name: `${network}-lb`, userData: renderBalancerUserData({ sshHostKey: key }),
            metaData: { "instance-id": `balancer-${randomUUID()}`, "public-keys": [admin.publicKeyOpenssh.trim()] },
            dockerArgs: ["--network", network, "--ip", balancerAddress],
        });
        balancer = booted.container;
        assert.match(booted.cloudInit, /^status: done$/m, `cloud-init:\n${booted.cloudInit}\nfailed units:\n${booted.failed}`);
        assert.equal((await inside(balancer, "systemctl", "is-active", "haproxy")).trim(), "active");
    });

    after(function () {
        if (sshDir) fs.rmSync(sshDir, { recursive: true, force: true });
        if (!balancer && dockerUnavailable()) return;
        removeLabelled(runLabel);
        const networks = run(dockerClient, ["network", "ls", "--quiet", "--filter", `label=${runLabel}`]).trim();
        if (networks) run(dockerClient, ["network", "rm", ...networks.split("\n")]);
    });

    it("answers 503 until a release is switched in, and logs requests to the journal", async function () {
        const answer = await get("/", false);
        assert.equal(answer.status, 503);
        assert.equal(answer.body, "no release is live on this balancer yet");
        assert.equal(await live(), "");
        // The journal has the request's log line (haproxy's httplog: frontend, backend, status).
        const deadline = Date.now() + 10_000;
        let journal = "";
        while (!/ http no-release\/<NOSRV> .* 503 /.test(journal)) {
            assert.ok(Date.now() < deadline, `no log line of the 503 in the journal:\n${journal}`);
            journal = await inside(balancer, "journalctl", "--unit", "haproxy", "--no-pager", "--output", "cat");
        }
    });

    it("switches to release A: every request sees A, and a second switch to A changes nothing", async function () {
        assert.match(await switchTo(releases.A), /release a00000000001 is live \(was: no-release; \d+\.\d s\)/);
        assert.equal(await live(), "a00000000001\n");
        assert.deepEqual(new Set(await versionsSeen(20)), new Set(["200 A a00000000001"]));
        const before = await workers();
        const again = await switchTo(releases.A);
        assert.doesNotMatch(again, /reloaded/);
        assert.match(again, /release a00000000001 is live \(was: release-a00000000001; \d+\.\d s\)/);
        assert.equal(await workers(), before, "haproxy was reloaded though nothing changed");
    });

    it("refuses servers whose /health fails, naming each with its check's status, and leaves A live", async function () {
        const result = await onBalancer(balancerSwitchScript({ ...releases.C, timeoutSeconds: 5 }));
        assert.equal(result.status, 1, result.stdout + result.stderr);
        assert.match(result.stderr, /release c00000000003 is not switched in: its servers did not all pass their health check \(GET \/health\) within 5 s/);
        assert.match(result.stderr, new RegExp(`server c00000000003\\.s0 \\(${releases.C.servers[0].replace(/\./g, "\\.")}:8000\\) is DOWN, last check L7STS 500 `));
        assert.match(result.stderr, /the live backend is still release-a00000000001/);
        assert.equal(await live(), "a00000000001\n");
        assert.deepEqual(new Set(await versionsSeen(20)), new Set(["200 A a00000000001"]));
    });

    it("switches from A to B under load with no failed request, each client seeing A then B, once", async function () {
        const clients = 8;
        const minimum = 2_000;
        const samples: Sample[] = [];
        let switchStart = Infinity;
        let switchEnd = Infinity;
        let switched = false;
        const startedAfterSwitch = () => samples.filter((sample) => sample.start > switchEnd).length;
        // Half the clients keep their connection alive, half open one per request.
        const client = async (id: number) => {
            const agent = id % 2 === 0 ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : false;
            try {
                // Bounded: enough requests on both sides of the switch, or a hard cap.
                while (samples.length < 20_000 && !(switched && samples.length >= minimum && startedAfterSwitch() >= 400)) {
                    const start = performance.now();
                    try {
                        const answer = await get("/", agent);
                        samples.push({ client: id, start, end: performance.now(), answer });
                    } catch (error) {
                        samples.push({ client: id, start, end: performance.now(), error: (error as Error).message });
                    }
                }
            } finally {
                if (agent) agent.destroy();
            }
        };
        const load = Promise.all(Array.from({ length: clients }, (_, id) => client(id)));
        // The switch starts once the load runs.
        while (samples.length < 300) await new Promise((resolve) => setImmediate(resolve));
        switchStart = performance.now();
        const output = await switchTo(releases.B);
        switchEnd = performance.now();
        switched = true;
        await load;

        const failed = samples.filter((sample) => sample.error || sample.answer?.status !== 200);
        assert.deepEqual(failed.slice(0, 5), [], `${failed.length} of ${samples.length} requests failed`);
        for (const sample of samples) {
            // The header is the backend's, the body the server's: they agree.
            assert.equal(versionOf[sample.answer?.release ?? ""], sample.answer?.body, JSON.stringify(sample));
        }
        const version = (sample: Sample) => sample.answer?.body;
        assert.deepEqual(samples.filter((sample) => sample.end < switchStart && version(sample) !== "A"), [], "B before the switch started");
        assert.deepEqual(samples.filter((sample) => sample.start > switchEnd && version(sample) !== "B"), [], "A after the switch returned");
        for (let id = 0; id < clients; id++) {
            const seen = samples.filter((sample) => sample.client === id).map(version).join("");
            assert.match(seen, /^A+B+$/, `client ${id} saw ${seen}`);
        }
        const latencies = samples.map((sample) => sample.end - sample.start);
        const during = samples.filter((sample) => sample.end >= switchStart && sample.start <= switchEnd).map((sample) => sample.end - sample.start);
        console.error(`balancer: ${samples.length} requests by ${clients} clients (half keep-alive), 0 failed; ` +
            `A ${samples.filter((sample) => version(sample) === "A").length}, B ${samples.filter((sample) => version(sample) === "B").length}; ` +
            `switch took ${(switchEnd - switchStart).toFixed(0)} ms; longest request ${Math.max(...latencies).toFixed(1)} ms ` +
            `(${Math.max(...during).toFixed(1)} ms during the switch, median ${median(latencies).toFixed(1)} ms)\n${output.trim()}`);
        assert.equal(await live(), "b00000000002\n");
        // The new worker took the listening sockets over from the old one through the master.
        assert.match(await inside(balancer, "ps", "-o", "args=", "-C", "haproxy"), /^\/usr\/sbin\/haproxy -sf \d+ -x sockpair@\d+ -Ws /m);
        // The failed release's backend went with the reload; A's stays until the next switch.
        assert.deepEqual((await inside(balancer, "ls", "/etc/haproxy/holodeck")).trim().split("\n"),
            ["00-balancer.cfg", "live.map", "release-a00000000001.cfg", "release-b00000000002.cfg"]);
    });

    it("returns only once no worker with the old routing is left, even with an idle keep-alive connection on it", async function () {
        // A client's connection to the worker that routes to B, idle through the switch to D: after
        // the reload, the old worker keeps it until it is used or times out, and would answer it with B.
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        try {
            assert.equal((await get("/", agent)).body, "B");
            const start = performance.now();
            assert.match(await switchTo(releases.D), /haproxy reloaded/);
            const took = performance.now() - start;
            const next = await get("/", agent);
            assert.deepEqual([next.status, next.body, next.release], [200, "D", "d00000000004"]);
            console.error(`balancer: switch to D with an idle keep-alive connection open took ${took.toFixed(0)} ms`);
        } finally {
            agent.destroy();
        }
    });

    it("keeps the live release across a restart of haproxy", async function () {
        await inside(balancer, "systemctl", "restart", "haproxy");
        assert.equal(await live(), "d00000000004\n");
        const answer = await get("/", false);
        assert.deepEqual([answer.status, answer.body, answer.release], [200, "D", "d00000000004"]);
    });

    it("lets only root use the admin and master sockets", async function () {
        for (const socket of [adminSocketPath, masterSocketPath]) {
            assert.match(await inside(balancer, "stat", "-c", "%A %U", socket), /^srw------- root\n$/);
            const connect = `import socket; s = socket.socket(socket.AF_UNIX); s.connect("${socket}"); s.sendall(b"help\\n"); s.shutdown(socket.SHUT_WR); print(len(s.makefile().read()))`;
            // haproxy's own user too: Debian's default socket lets its group in.
            for (const user of ["nobody", "haproxy", "debian"]) {
                const refused = await runAsync(dockerClient, ["exec", "--user", user, balancer, "python3", "-c", connect]);
                assert.equal(refused.status, 1, `${user} used ${socket}: ${refused.stdout}${refused.stderr}`);
                assert.match(refused.stderr, /PermissionError: \[Errno 13\] Permission denied/);
            }
            // The same client as root gets an answer: the refusal is the socket's mode, not the client.
            assert.ok(Number((await inside(balancer, "python3", "-c", connect)).trim()) > 0);
        }
    });

    /** Runs `during` while clients GET / through the balancer, and gives what they saw, in order of start. */
    async function underLoad<T>(during: () => Promise<T>, clients = 4): Promise<{ result: T; samples: Sample[] }> {
        const samples: Sample[] = [];
        let done = false;
        const client = async (id: number) => {
            const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
            try {
                while (!done && samples.length < 50_000) {
                    const start = performance.now();
                    try {
                        samples.push({ client: id, start, end: performance.now(), answer: await get("/", agent) });
                    } catch (error) {
                        samples.push({ client: id, start, end: performance.now(), error: (error as Error).message });
                    }
                }
            } finally {
                agent.destroy();
            }
        };
        const load = Promise.all(Array.from({ length: clients }, (_, id) => client(id)));
        try {
            return { result: await during(), samples: samples.sort((a, b) => a.start - b.start) };
        } finally {
            done = true;
            await load;
        }
    }

    /** How many canary servers the live backend D holds. */
    const canaryServers = async () => inside(balancer, "bash", "-c",
        `python3 -c 'import socket; s = socket.socket(socket.AF_UNIX); s.connect("${adminSocketPath}"); s.sendall(b"show stat release-d00000000004 4 -1\\n"); s.shutdown(socket.SHUT_WR); print(s.makefile().read())' | cut -d, -f2 | grep -c canary || true`);

    it("tries a sound canary beside the live release: it takes its share, passes, and is withdrawn", async function () {
        assert.equal(await live(), "d00000000004\n");
        const { result, samples } = await underLoad(() => onBalancer(balancerCanaryScript({ ...releases.E, soakSeconds: 3 })));
        assert.equal(result.status, 0, result.stdout + result.stderr);
        assert.match(result.stdout, /the canary of release e00000000005 \(1 server\) serves beside release-d00000000004 for 3 s/);
        assert.match(result.stdout, /the canary of release e00000000005 passed: \d+ requests in 3 s, none failed; withdrawn/);
        const failed = samples.filter((sample) => sample.error || sample.answer?.status !== 200);
        assert.deepEqual(failed.slice(0, 5), [], `${failed.length} of ${samples.length} requests failed`);
        for (const sample of samples) assert.equal(versionOf[sample.answer?.release ?? ""], sample.answer?.body, JSON.stringify(sample));
        // One canary beside one server, round robin: about half, while it served.
        const served = samples.filter((sample) => sample.answer?.body === "E");
        const window = samples.filter((sample) => sample.start >= served[0].start && sample.start <= served[served.length - 1].start);
        const share = served.length / window.length;
        assert.ok(share > 0.4 && share < 0.6, `the canary served ${served.length} of the ${window.length} requests made while it served`);
        console.error(`balancer: the canary served ${served.length} of ${window.length} requests while it served (${(100 * share).toFixed(0)} %), 0 failed`);
        assert.equal(await live(), "d00000000004\n");
        assert.deepEqual(new Set(await versionsSeen(10)), new Set(["200 D d00000000004"]));
        assert.equal((await canaryServers()).trim(), "0", "a canary server is left in the backend");
    });

    it("withdraws a canary that answers 5xx under load and fails naming it; the live release alone serves", async function () {
        const { result, samples } = await underLoad(() => onBalancer(balancerCanaryScript({ ...releases.F, soakSeconds: 60 })));
        assert.equal(result.status, 1, result.stdout + result.stderr);
        assert.match(result.stderr, /balancer: the canary of release f00000000006: failed beside release-d00000000004, and is withdrawn: the rollout stops here:\n/);
        assert.match(result.stderr, new RegExp(`canary server f00000000006\\.canary0 \\(${releases.F.servers[0].replace(/\./g, "\\.")}:8000\\) is UP[^\n]* after \\d+ requests: [1-9]\\d* answered 5xx`));
        // Every failed request was the canary's, and after its last one only D answered.
        const failed = samples.filter((sample) => sample.error || sample.answer?.status !== 200);
        assert.ok(failed.length > 0, "the canary's 500s never reached a client");
        assert.deepEqual(failed.filter((sample) => sample.answer?.release !== "f00000000006"), []);
        const lastCanary = failed[failed.length - 1];
        assert.deepEqual(samples.filter((sample) => sample.start > lastCanary.end && sample.answer?.body !== "D"), []);
        console.error(`balancer: the failing canary answered ${failed.length} of ${samples.length} requests with 500 before its withdrawal`);
        assert.equal(await live(), "d00000000004\n");
        assert.deepEqual(new Set(await versionsSeen(10)), new Set(["200 D d00000000004"]));
        assert.equal((await canaryServers()).trim(), "0", "a canary server is left in the backend");
    });

    it("says so when no request reached a canary during its soak", async function () {
        const result = await onBalancer(balancerCanaryScript({ ...releases.E, soakSeconds: 2 }));
        assert.equal(result.status, 0, result.stdout + result.stderr);
        assert.match(result.stdout, /the canary of release e00000000005 passed, but no request reached it in 2 s: its gates and health checks were its whole trial; withdrawn/);
        assert.equal((await canaryServers()).trim(), "0", "a canary server is left in the backend");
    });

    it("tries no canary of the live release itself", async function () {
        const result = await onBalancer(balancerCanaryScript({ ...releases.D, soakSeconds: 3 }));
        assert.deepEqual([result.status, result.stdout.trim()], [0, "balancer: release d00000000004 is live already: no canary"]);
    });
});

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
}
