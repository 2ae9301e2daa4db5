// The health gate's script, run for real with bash and curl against HTTP servers on loopback; and
// the heredoc every remote script feeds its files through, run by bash.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { failedStatesScript, healthGateScript, minionId } from "../components/appServers";
import { heredoc, shellQuote } from "../lib/shell";
import { refusedPort, run, runAsync } from "../tools/localRelease";
import { saltVenv } from "../tools/saltRender";

interface Server {
    url: string;
    close(): Promise<void>;
}

/** A server answering /health with `version`, after answering 503 to its first `startingRequests`. */
async function healthServer(version: string, startingRequests = 0): Promise<Server> {
    let requests = 0;
    const server = http.createServer((request, response) => {
        if (++requests <= startingRequests) {
            response.writeHead(503).end("starting");
            return;
        }
        response.writeHead(request.url === "/health" ? 200 : 404, { "Content-Type": "application/json" });
        response.end(JSON.stringify({ status: "ok", version }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}/health`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const runGate = (script: string) => runAsync("bash", ["-c", script]);

describe("the health gate", () => {
    const servers: Server[] = [];
    afterEach(async () => {
        await Promise.all(servers.splice(0).map((server) => server.close()));
    });
    const start = async (version: string, startingRequests = 0) => {
        const server = await healthServer(version, startingRequests);
        servers.push(server);
        return server.url;
    };

    it("passes when every server reports the release's version", async () => {
        const urls = [await start("1.0.0"), await start("1.0.0")];
        const result = await runGate(healthGateScript({ urls, version: "1.0.0", timeoutSeconds: 5, intervalSeconds: 1 }));
        assert.equal(result.status, 0, result.stderr);
        assert.deepEqual(result.stdout.trim().split("\n"), urls.map((url) => `health gate: ${url} is healthy`));
    });

    it("waits for a server that becomes ready within the deadline", async () => {
        const url = await start("2.1.0~rc1", 2);
        const result = await runGate(healthGateScript({ urls: [url], version: "2.1.0~rc1", timeoutSeconds: 60, intervalSeconds: 0.2 }));
        assert.equal(result.status, 0, result.stderr);
        assert.equal(result.stdout.trim(), `health gate: ${url} is healthy`);
    });

    it("fails, naming the server and its answer, when it keeps reporting another version", async () => {
        const url = await start("0.9.0");
        const result = await runGate(healthGateScript({ urls: [url], version: "1.0.0", timeoutSeconds: 2, intervalSeconds: 1 }));
        assert.equal(result.status, 1);
        assert.match(result.stderr, new RegExp(`health gate: ${url} did not report version 1.0.0 within 2 s; last answer: .*"version": ?"0.9.0"`));
    });

    it("fails when a server refuses connections", async () => {
        const held = await refusedPort();
        const refused = `http://127.0.0.1:${held.port}/health`;
        const result = await runGate(healthGateScript({ urls: [await start("1.0.0"), refused], version: "1.0.0", timeoutSeconds: 2, intervalSeconds: 1 }))
            .finally(() => held.release());
        assert.equal(result.status, 1);
        assert.match(result.stderr, new RegExp(`health gate: ${refused} did not report version 1.0.0 within 2 s; last answer: curl: \\(7\\)`));
    });

    describe("on failure, the server's Salt run as its master sees it", () => {
        let dir: string;
        beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-gate-"))));
        afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
        /** A `salt` that records its arguments and answers `output` with exit status `status`. */
        const fakeSalt = (output: string, status = 0) => {
            const salt = path.join(dir, "salt");
            fs.writeFileSync(salt, `#!/bin/bash\nprintf '%s\\n' "$@" > ${dir}/args\nprintf '%s' ${shellQuote(output)}\nexit ${status}\n`, { mode: 0o755 });
            return salt;
        };
        const failing = async (salt: string) => {
            const held = await refusedPort();
            const urls = [await start("1.0.0"), `http://127.0.0.1:${held.port}/health`];
            const result = await runGate(healthGateScript({ urls, minionIds: ["app-0", "app-1"], salt, version: "1.0.0", timeoutSeconds: 1, intervalSeconds: 1 }))
                .finally(() => held.release());
            assert.equal(result.status, 1);
            assert.match(result.stderr, new RegExp(`health gate: ${urls[1]} did not report version 1.0.0`));
            return result.stderr;
        };

        it("shows the failed states of the failing server's last run, asked of that minion", async () => {
            const states = "----------\n          ID: holodeck-verify\n    Function: cmd.run\n      Result: False\n              stderr: sha256sum: WARNING: 1 computed checksum did NOT match";
            const stderr = await failing(fakeSalt(`app-1: ${states}\n`));
            assert.ok(stderr.includes(`health gate: what failed in the last Salt run of app-1:\n${states}\n`), stderr);
            const args = fs.readFileSync(path.join(dir, "args"), "utf8").trim().split("\n");
            assert.deepEqual(args.slice(0, 6), ["--timeout", "15", "--out", "txt", "app-1", "cmd.run"]);
            assert.equal(args.slice(6).join("\n"), failedStatesScript());
        });

        it("says so when the run failed no state, or the minion does not answer", async () => {
            assert.match(await failing(fakeSalt("app-1: \n")), /health gate: the last Salt run of app-1 failed no state/);
            assert.match(await failing(fakeSalt("Minion did not return. [No response]", 1)), /health gate: app-1 did not answer the master: Minion did not return/);
        });
    });

    it("picks the states that failed of themselves in the last of a server's Salt runs, from real salt-call output", function () {
        this.timeout(60_000);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-salt-log-"));
        try {
            fs.mkdirSync(path.join(dir, "srv"));
            fs.writeFileSync(path.join(dir, "minion"), `root_dir: ${dir}\nfile_client: local\nfile_roots: {base: [${dir}/srv]}\n`);
            // As the holodeck state checks the .deb before dpkg reads it, and installs only then.
            const sls = (mark: string) => `verify:\n  cmd.run:\n    - name: echo '${"0".repeat(64)}  /dev/null' | sha256sum --check --strict && echo ${mark}\n`
                + "install:\n  cmd.run:\n    - name: 'true'\n    - require:\n      - cmd: verify\nfine:\n  cmd.run:\n    - name: 'true'\n";
            // Two runs in one log, as cloud-init's runcmd retries: only the last one's failures count.
            let log = "";
            for (const mark of ["first-run", "last-run"]) {
                fs.writeFileSync(path.join(dir, "srv", "t.sls"), sls(mark));
                const applied = spawnSync(path.join(saltVenv(), "bin", "salt-call"), ["--local", "-c", dir, "state.apply", "t"], { encoding: "utf8" });
                log += `${applied.stdout}${applied.stderr}`;
            }
            fs.writeFileSync(path.join(dir, "cloud-init-output.log"), log);
            const failed = run("bash", ["-c", failedStatesScript(path.join(dir, "cloud-init-output.log"))]);
            assert.match(failed, /^----------\n {10}ID: verify\n/);
            assert.match(failed, /Result: False/);
            assert.match(failed, /computed checksum did NOT match/);
            assert.match(failed, /last-run/);
            assert.doesNotMatch(failed, /first-run|ID: install|ID: fine/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("names minions by app, stack, release and index", () => {
        assert.equal(minionId("holodeck-hello", "prod", "0123456789ab", 2), "holodeck-hello-prod-0123456789ab-2");
    });
});

describe("heredoc", () => {
    it("hands bash the content byte for byte, with or without its last newline, expanding nothing", () => {
        const content = "a $HOME `id` \\n 'quoted' \"double\"\n\n  indented\tTAB";
        for (const text of [content, `${content}\n`]) {
            assert.equal(run("bash", ["-c", heredoc("cat", text, "END_OF_FILE", "the file")]), `${content}\n`);
        }
    });

    it("refuses content holding the delimiter line, which would end it early", () => {
        assert.throws(() => heredoc("cat", "one\nEND_OF_FILE\nrm -rf /tmp/x\n", "END_OF_FILE", "the check file"),
            /^Error: the check file contains the line END_OF_FILE$/);
        assert.equal(run("bash", ["-c", heredoc("cat", "not END_OF_FILE alone", "END_OF_FILE", "x")]), "not END_OF_FILE alone\n");
    });
});
