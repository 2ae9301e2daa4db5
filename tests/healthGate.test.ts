// The health gate's script, run for real with bash and curl against HTTP servers on loopback; and
// the heredoc every remote script feeds its files through, run by bash.
import * as assert from "node:assert/strict";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import { healthGateScript, minionId } from "../components/appServers";
import { heredoc } from "../lib/shell";
import { refusedPort, run, runAsync } from "../tools/localRelease";

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
