// scripts/engine.sh when the Go module proxy refuses what the engine is built from: it names the
// module and version, says what to do, and builds nothing. A loopback proxy refuses everything
// (as the real one refuses upstream's provider modules here), with caches of the test's own.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { runAsync } from "../tools/localRelease";
import { repoRoot } from "../lib/paths";

describe("scripts/engine.sh against a proxy that refuses", function () {
    this.timeout(120_000);
    let proxy: http.Server;
    let scratch: string;
    const asked: string[] = [];
    before(async () => {
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-engine-refused-"));
        proxy = http.createServer((request, response) => {
            asked.push(request.url ?? "");
            response.writeHead(403, { "Content-Type": "text/plain" });
            response.end("This module version is not available.");
        });
        await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    });
    after(async () => {
        await new Promise((resolve) => proxy.close(resolve));
        fs.rmSync(scratch, { recursive: true, force: true });
    });

    it("stops at the CLI, naming the refused module@version and why, with nothing built", async () => {
        const engine = path.join(scratch, "engine");
        const run = await runAsync("bash", [path.join(repoRoot, "scripts", "engine.sh")], {
            cwd: repoRoot,
            env: {
                ...process.env,
                HOLODECK_ENGINE_DIR: engine,
                GOPROXY: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
                GOSUMDB: "off",
                GOMODCACHE: path.join(scratch, "modules"),
                GOCACHE: path.join(scratch, "build-cache"),
            },
        });
        assert.equal(run.status, 1, run.stderr);
        assert.equal(run.stdout, "", "no bin directory printed");
        assert.match(run.stderr, /[\w./-]+@v[\w.+-]+: .*403 Forbidden/, run.stderr);
        assert.match(run.stderr, /engine: error: the Go module proxy refused a module that engine\/cli\/go\.mod names \(above\): the CLI cannot be built until it is served/);
        assert.ok(asked.length > 0, "the proxy was asked");
        assert.equal(fs.existsSync(path.join(engine, "bin", "pulumi")), false);
    });
});
