// holodeck-check for real: the sample app built into its .deb and run from it, a small Node
// server for what the app cannot do (slow, hanging, echoing), and the bundled CLI run with node
// from a directory where no node_modules can be found.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import { builtinModules } from "node:module";
import * as net from "node:net";
import { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { bundleChecker } from "../lib/repoFiles";
import { shellQuote } from "../lib/shell";
import { checkScript, parseReport } from "../components/functionalChecks";
import { renderJUnit, renderTable } from "../checker/report";
import { CheckResult, runChecks, RunReport } from "../checker/run";
import { loadSpec, parseSpec, SpecError } from "../checker/spec";
import { buildRelease, commitDirectory, debianWheels, refusedPort, run, runAsync, RunningService, sampleAppDir, startService } from "../tools/localRelease";

const sampleChecks = path.join(sampleAppDir, "holodeck-checks.yaml");
const greeting = "Hello from the checker's test";

interface TestServer {
    url: string;
    /** Requests received, in order: method, URL, content type and body. */
    requests: { method: string; url: string; contentType: string; token: string; body: string }[];
    close(): Promise<void>;
}

/** /slow answers after 300 ms, /hang after 5 s, /moved redirects, anything else echoes the request as JSON. */
async function testServer(): Promise<TestServer> {
    const requests: TestServer["requests"] = [];
    const server = http.createServer((request, response) => {
        let body = "";
        request.on("data", (chunk: Buffer) => (body += chunk.toString()));
        request.on("end", () => {
            const seen = {
                method: request.method ?? "",
                url: request.url ?? "",
                contentType: request.headers["content-type"] ?? "",
                token: String(request.headers["x-token"] ?? ""),
                body,
            };
            requests.push(seen);
            if (seen.url === "/slow") setTimeout(() => response.end("slow but fine"), 300);
            else if (seen.url === "/hang") setTimeout(() => response.end("too late"), 5000);
            else if (seen.url === "/moved") response.writeHead(302, { location: "/elsewhere" }).end();
            else response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(seen));
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return {
        url: `http://127.0.0.1:${port}`,
        requests,
        close: () => {
            server.closeAllConnections();
            return new Promise((resolve) => server.close(() => resolve()));
        },
    };
}

/** The result of `check` against `target` in `report`. */
function resultOf(report: RunReport, target: string, check: string): CheckResult {
    const result = report.results.find((candidate) => candidate.target === target && candidate.check === check);
    assert.ok(result, `no result for ${check} against ${target}`);
    return result;
}

interface JUnitSuite {
    name: string;
    tests: string;
    failures: string;
    cases: { name: string; failure: { type: string; message: string } | null }[];
}

/** Parses JUnit XML with Python's XML parser (which refuses malformed XML). */
function parseJUnit(xml: string): { tests: string; failures: string; suites: JUnitSuite[] } {
    const script = `
import json, sys, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.buffer.read())
assert root.tag == "testsuites", root.tag
print(json.dumps({"tests": root.get("tests"), "failures": root.get("failures"), "suites": [
    {"name": s.get("name"), "tests": s.get("tests"), "failures": s.get("failures"), "cases": [
        {"name": c.get("name"), "failure": None if c.find("failure") is None
            else {"type": c.find("failure").get("type"), "message": c.find("failure").get("message")}}
        for c in s.findall("testcase")]}
    for s in root.findall("testsuite")]}))
`;
    const parsed = spawnSync("/usr/bin/python3", ["-c", script], { input: xml, encoding: "utf8" });
    assert.equal(parsed.status, 0, `not well-formed JUnit XML: ${parsed.stderr}`);
    return JSON.parse(parsed.stdout);
}

describe("holodeck-check", function () {
    let scratch: string;
    let projectVersion: string;
    let startApp: () => Promise<RunningService>;
    let apps: RunningService[] = [];
    let server: TestServer;

    before(async () => {
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-checker-"));
        // The sample app as it ships: built into its .deb, extracted, run from its venv.
        const repo = path.join(scratch, "repo");
        const commit = commitDirectory(sampleAppDir, repo);
        const manifest = buildRelease(["--repo", repo, "--commit", commit, "--out", path.join(scratch, "out"), "--find-links", debianWheels]);
        projectVersion = manifest.projectVersion;
        const root = path.join(scratch, "root");
        run("dpkg-deb", ["-x", path.join(scratch, "out", manifest.file), root]);
        const config = path.join(scratch, "config.ini");
        fs.writeFileSync(config, `[app]\ngreeting = ${greeting}\n`);
        const python = path.join(root, manifest.prefix, "bin", "python");
        startApp = () => startService(python, ["-m", "holodeck_hello.server", "--port", "0"], { ...process.env, HOLODECK_CONFIG: config });
        apps = await Promise.all([startApp(), startApp()]);
        server = await testServer();
    });
    after(async () => {
        await Promise.all([...apps.map((app) => app.stop()), server?.close()]);
        fs.rmSync(scratch, { recursive: true, force: true });
    });

    describe("the runner", () => {
        it("passes the sample app's check file against two instances at once", async () => {
            const spec = loadSpec(sampleChecks, { VERSION: projectVersion });
            const targets = apps.map((app) => app.url);
            const report = await runChecks(spec, targets);
            assert.deepEqual(report.results.filter((result) => !result.passed), []);
            assert.equal(report.passed, true);
            assert.equal(report.checks, 6);
            assert.equal(report.failures, 0);
            assert.deepEqual(report.targets, targets);
            assert.deepEqual(
                report.results.map((result) => [result.target, result.check, result.status]),
                targets.flatMap((target) => [[target, "health", 200], [target, "greeting", 200], [target, "unknown paths are 404", 404]]),
            );
        });

        it("reports a wrong status, missing text and unequal JSON, naming the target and check", async () => {
            const spec = parseSpec(`
deadlineSeconds: 0.5
checks:
  - {name: missing page, path: /missing}
  - {name: farewell, path: /, expect: {bodyContains: [Hello, Goodbye]}}
  - {name: new version, path: /health, expect: {json: [{path: $.status, equals: ok}, {path: $.version, equals: "9.9.9"}]}}
  - {name: no extra key, path: /health, expect: {json: [{path: $.debug, exists: true}]}}
`, "failing.yaml");
            const target = apps[0].url;
            const startedAt = Date.now();
            const report = await runChecks(spec, [target]);
            assert.ok(Date.now() - startedAt >= 500, "failing checks are retried until the deadline");
            assert.equal(report.passed, false);
            assert.equal(report.failures, 4);
            const failure = (check: string) => {
                const result = resultOf(report, target, check);
                assert.ok(result.attempts > 1, `${check} was retried`);
                return result.failure;
            };
            assert.deepEqual(failure("missing page"), { kind: "status", message: `status 404, expected 200; body: {"error": "no route for /missing"}` });
            assert.deepEqual(failure("farewell"), {
                kind: "body",
                message: `body lacks "Goodbye"; body: {"message": "${greeting}", "version": "${projectVersion}"}`,
            });
            assert.deepEqual(failure("new version"), { kind: "json", message: `$.version is "${projectVersion}", expected "9.9.9"` });
            assert.match(failure("no extra key")?.message ?? "", /^\$\.debug is missing, expected it present; body: \{"status": "ok"/);
            const table = renderTable(report);
            assert.match(table, new RegExp(`^${target} +missing page +FAIL status +\\d+ ms +status 404, expected 200`, "m"));
            assert.match(table, /\n0 of 4 passed, 4 failed \(\d+\.\d s\)\n$/);
        });

        it("reports latency over its bound and requests that time out", async () => {
            const spec = parseSpec(`
deadlineSeconds: 0.4
requestTimeoutSeconds: 0.5
checks:
  - {name: slow, path: /slow, expect: {maxLatencyMs: 100}}
  - {name: hanging, path: /hang}
  - {name: slow but allowed, path: /slow, expect: {maxLatencyMs: 2000}}
`, "slow.yaml");
            const report = await runChecks(spec, [server.url]);
            const slow = resultOf(report, server.url, "slow");
            assert.equal(slow.failure?.kind, "latency");
            assert.match(slow.failure?.message ?? "", /^took \d{3} ms, over the 100 ms bound$/);
            assert.ok((slow.latencyMs ?? 0) >= 300);
            assert.ok(slow.attempts > 1, "a slow answer is retried: first requests may be slow");
            assert.deepEqual(resultOf(report, server.url, "hanging").failure, {
                kind: "timeout",
                message: `no complete answer from ${server.url}/hang within 500 ms`,
            });
            assert.equal(resultOf(report, server.url, "slow but allowed").passed, true);
        });

        it("reports a target that refuses connections, naming it", async () => {
            const held = await refusedPort();
            const refused = `http://127.0.0.1:${held.port}`;
            const spec = parseSpec("deadlineSeconds: 0.3\nchecks: [{name: health, path: /health}]\n", "health.yaml");
            const report = await runChecks(spec, [apps[0].url, refused]).finally(() => held.release());
            assert.equal(resultOf(report, apps[0].url, "health").passed, true);
            const result = resultOf(report, refused, "health");
            assert.deepEqual(result.failure, { kind: "unreachable", message: `cannot reach ${refused}/health: ECONNREFUSED` });
            assert.equal(result.status, null);
            assert.ok(result.attempts > 1);
        });

        it("waits for a server that becomes ready within the deadline", async () => {
            // The target's port is ours from the start: it drops connections until the runner has
            // come once, then starts the app and forwards to it. No sleeps, no port handed over.
            let app: Promise<RunningService> | undefined;
            const front = net.createServer((socket) => {
                if (!app) {
                    app = startApp();
                    socket.destroy();
                    return;
                }
                app.then(({ url }) => {
                    const backend = net.connect(Number(new URL(url).port), "127.0.0.1");
                    socket.pipe(backend).pipe(socket);
                    backend.on("error", () => socket.destroy());
                    socket.on("error", () => backend.destroy());
                }, () => socket.destroy());
            });
            await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
            const target = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
            try {
                const report = await runChecks(loadSpec(sampleChecks, { VERSION: projectVersion }), [target], { deadlineSeconds: 30 });
                assert.deepEqual(report.results.map((result) => result.failure), [null, null, null]);
                assert.ok(report.results.some((result) => result.attempts > 1), "a check was retried after the first connection was dropped");
            } finally {
                front.close();
                await (await app)?.stop();
            }
        });

        it("sends methods, headers and bodies as written, and does not follow redirects", async () => {
            const spec = parseSpec(`
checks:
  - name: post JSON
    method: post
    path: /items?draft=1
    headers: {X-Token: "{{TOKEN}}"}
    body: {name: "{{TOKEN}}", tags: [a, b]}
    expect: {json: [{path: $.method, equals: POST}, {path: $.contentType, equals: application/json}]}
  - {name: put text, method: PUT, path: /text, body: plain words, expect: {bodyContains: plain words}}
  - {name: redirect, path: /moved, expect: {status: 302}}
`, "requests.yaml", { TOKEN: "s3cret" });
            server.requests.length = 0;
            const report = await runChecks(spec, [server.url]);
            assert.deepEqual(report.results.map((result) => result.failure), [null, null, null]);
            // The runner sends the checks concurrently and promises no order: compare as a set.
            const byUrl = (a: { url: string }, b: { url: string }) => (a.url < b.url ? -1 : 1);
            assert.deepEqual([...server.requests].sort(byUrl), [
                { method: "POST", url: "/items?draft=1", contentType: "application/json", token: "s3cret", body: `{"name":"s3cret","tags":["a","b"]}` },
                { method: "PUT", url: "/text", contentType: "text/plain;charset=UTF-8", token: "", body: "plain words" },
                { method: "GET", url: "/moved", contentType: "", token: "", body: "" },
            ].sort(byUrl));
        });
    });

    describe("check files", () => {
        const malformed: [string, string, RegExp][] = [
            ["an unknown key", "checks: [{name: home, path: /, expct: {status: 200}}]",
                /^bad\.yaml: checks\[0\] \("home"\): the check has an unknown key "expct": did you mean "expect"\?/],
            ["an unknown expectation", "checks: [{name: home, path: /, expect: {staus: 201}}]",
                /^bad\.yaml: checks\[0\] \("home"\): expect has an unknown key "staus": did you mean "status"\?/],
            ["an unknown top-level key", "deadline: 5\nchecks: [{name: home, path: /}]",
                /^bad\.yaml: the top level has an unknown key "deadline"/],
            ["a bad method", "checks: [{name: a, path: /}, {name: home, method: FETCH, path: /}]",
                /^bad\.yaml: checks\[1\] \("home"\): method must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, got "FETCH" \(a string\)$/],
            ["a path without /", "checks: [{name: home, path: health}]",
                /^bad\.yaml: checks\[0\] \("home"\): path must be a string starting with "\/"/],
            ["a status as a string", `checks: [{name: home, path: /, expect: {status: "200"}}]`,
                /^bad\.yaml: checks\[0\] \("home"\): expect\.status must be an integer from 100 to 599, got "200" \(a string\); write it without quotes$/],
            ["a header that is a number", "checks: [{name: home, path: /, headers: {X-Count: 5}}]",
                /^bad\.yaml: checks\[0\] \("home"\): headers\.X-Count must be a one-line string, got 5 \(a number\); quote it$/],
            ["bodyContains as a number", "checks: [{name: home, path: /, expect: {bodyContains: 42}}]",
                /^bad\.yaml: checks\[0\] \("home"\): expect\.bodyContains must be a non-empty string or a non-empty list of them/],
            ["a JSON path without $", "checks: [{name: home, path: /, expect: {json: [{path: status, equals: ok}]}}]",
                /^bad\.yaml: checks\[0\] \("home"\): expect\.json\[0\]\.path "status" must start with "\$"/],
            ["a JSON assertion with no test", "checks: [{name: home, path: /, expect: {json: [{path: $.status}]}}]",
                /^bad\.yaml: checks\[0\] \("home"\): expect\.json\[0\] must have exactly one of equals/],
            ["a body on GET", "checks: [{name: home, path: /, body: {a: 1}}]",
                /^bad\.yaml: checks\[0\] \("home"\): body cannot be sent with GET/],
            ["a placeholder with no value", `checks: [{name: home, path: /, expect: {bodyContains: "{{VERSION}}"}}]`,
                /^bad\.yaml: checks\[0\] \("home"\): expect\.bodyContains uses \{\{VERSION\}\}, which has no value: pass --var VERSION=VALUE/],
            ["two checks with one name", "checks: [{name: home, path: /}, {name: home, path: /health}]",
                /^bad\.yaml: checks\[1\] \("home"\): name is used by an earlier check/],
            ["a check without a name", "checks: [{path: /}]", /^bad\.yaml: checks\[0\]: name must be a non-empty one-line string, got nothing$/],
            ["a deadline as text", "deadlineSeconds: soon\nchecks: [{name: home, path: /}]",
                /^bad\.yaml: deadlineSeconds must be a number of at least 0, got "soon" \(a string\)/],
            ["checks as a mapping", "checks: {name: home}", /^bad\.yaml: checks must be a non-empty list of checks/],
            ["broken YAML", "checks:\n  - name: a\n    name: b\n", /^bad\.yaml: not valid YAML or JSON: Map keys must be unique at line 3, column 5$/],
        ];
        for (const [what, text, expected] of malformed) {
            it(`refuses ${what}, with one line naming the file, check and field`, () => {
                assert.throws(() => parseSpec(text, "bad.yaml"), (error: unknown) => {
                    assert.ok(error instanceof SpecError);
                    assert.equal(error.problems.length, 1, error.message);
                    assert.match(error.problems[0], expected);
                    return true;
                });
            });
        }

        it("reports every problem of a file at once", () => {
            assert.throws(
                () => parseSpec(`{"checks": [{"name": "a", "path": "a"}, {"name": "b", "path": "/", "method": 7}]}`, "bad.json"),
                (error: unknown) => error instanceof SpecError && error.problems.length === 2
                    && /^bad\.json: checks\[0\] \("a"\): path /.test(error.problems[0]) && /^bad\.json: checks\[1\] \("b"\): method /.test(error.problems[1]),
            );
        });

        it("applies defaults and reads JSON files too", () => {
            const spec = parseSpec(`{"checks": [{"name": "home", "path": "/"}]}`, "min.json");
            assert.deepEqual(spec, {
                checks: [{ name: "home", method: "GET", path: "/", headers: {}, expect: { status: 200, bodyContains: [], json: [] } }],
                deadlineSeconds: 60,
                concurrency: 8,
                requestTimeoutSeconds: 10,
            });
        });
    });

    describe("the bundled command line", () => {
        let cliDir: string;
        let cli: string;

        before(() => {
            // Outside the repository, so nothing but the bundle itself can provide its modules.
            cliDir = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-check-cli-"));
            cli = path.join(cliDir, "holodeck-check.js");
            fs.writeFileSync(cli, bundleChecker());
        });
        after(() => fs.rmSync(cliDir, { recursive: true, force: true }));

        function runCli(args: string[]) {
            const env = { ...process.env };
            delete env.NODE_PATH;
            return runAsync(process.execPath, [cli, ...args], { cwd: cliDir, env });
        }

        it("imports nothing from outside the bundle but Node's builtins", () => {
            const bundle = fs.readFileSync(cli, "utf8");
            const required = [...bundle.matchAll(/\brequire\("([^"]+)"\)/g)].map((match) => match[1]);
            assert.ok(required.length > 0);
            assert.deepEqual(required.filter((name) => !builtinModules.includes(name.replace(/^node:/, ""))), []);
            assert.match(bundle, /^#!\/usr\/bin\/env node\n/);
        });

        it("exits 0 when every check passes, and writes the JSON and JUnit reports", async () => {
            const json = path.join(cliDir, "pass.json");
            const junit = path.join(cliDir, "pass.xml");
            const targets = apps.map((app) => app.url);
            const result = await runCli([
                "--spec", sampleChecks, "--var", `VERSION=${projectVersion}`, "--target", targets[0], "--target", targets[1],
                "--json", json, "--junit", junit,
            ]);
            assert.equal(result.status, 0, result.stderr);
            assert.equal(result.stderr, "");
            assert.match(result.stdout, /^TARGET +CHECK +RESULT +LATENCY +DETAIL\n/);
            assert.match(result.stdout, /\n6 of 6 passed, 0 failed \(\d+\.\d s\)\n$/);
            const report = JSON.parse(fs.readFileSync(json, "utf8")) as RunReport;
            assert.equal(report.passed, true);
            assert.equal(report.checks, 6);
            assert.equal(report.failures, 0);
            assert.deepEqual(report.targets, targets);
            assert.equal(report.results.length, 6);
            assert.ok(Date.parse(report.startedAt) <= Date.parse(report.finishedAt));
            const parsed = parseJUnit(fs.readFileSync(junit, "utf8"));
            assert.deepEqual([parsed.tests, parsed.failures], ["6", "0"]);
            assert.deepEqual(parsed.suites.map((suite) => [suite.name, suite.tests, suite.failures]), targets.map((target) => [target, "3", "0"]));
            assert.deepEqual(parsed.suites[0].cases, [
                { name: "health", failure: null }, { name: "greeting", failure: null }, { name: "unknown paths are 404", failure: null },
            ]);
        });

        it("exits 1 when a check fails, with the failure escaped properly in JUnit XML", async () => {
            const spec = path.join(cliDir, "fail.yaml");
            fs.writeFileSync(spec, `deadlineSeconds: 0.3\nchecks:\n  - {name: health, path: /health}\n  - {name: "<&\\"quotes'>", path: /, expect: {bodyContains: "<b>&\\"x\\"\\n"}}\n`);
            const junit = path.join(cliDir, "fail.xml");
            const result = await runCli(["--spec", spec, "--target", apps[0].url, "--json", "-", "--junit", junit]);
            assert.equal(result.status, 1, result.stderr);
            const report = JSON.parse(result.stdout) as RunReport;
            assert.deepEqual([report.passed, report.checks, report.failures], [false, 2, 1]);
            const failure = report.results[1].failure;
            assert.equal(failure?.kind, "body");
            assert.match(result.stderr, /FAIL body .*body lacks "<b>&\\"x\\"\\n"/, "the table goes to stderr with --json -");
            const parsed = parseJUnit(fs.readFileSync(junit, "utf8"));
            assert.deepEqual(parsed.suites[0].cases, [
                { name: "health", failure: null },
                { name: `<&"quotes'>`, failure: { type: "body", message: failure?.message ?? "" } },
            ]);
            assert.equal(renderJUnit(report), fs.readFileSync(junit, "utf8"));
        });

        it("exits 2 on a bad check file or bad usage, with one error line per problem and no request", async () => {
            const spec = path.join(cliDir, "typo.yaml");
            fs.writeFileSync(spec, "checks:\n  - name: home\n    path: /\n    expect: {status: 200, bodyContain: hello}\n");
            server.requests.length = 0;
            const cases: [string[], RegExp][] = [
                [["--spec", spec, "--target", server.url],
                    /^holodeck-check: error: \S+typo\.yaml: checks\[0\] \("home"\): expect has an unknown key "bodyContain": did you mean "bodyContains"\?/],
                [["--spec", sampleChecks, "--target", server.url],
                    /^holodeck-check: error: \S+holodeck-checks\.yaml: checks\[0\] \("health"\): expect\.json\[1\]\.equals uses \{\{VERSION\}\}, which has no value: pass --var VERSION=VALUE/],
                [["--spec", path.join(cliDir, "absent.yaml"), "--target", server.url], /^holodeck-check: error: \S+absent\.yaml: cannot read the check file: ENOENT/],
                [["--spec", spec], /^holodeck-check: error: at least one --target URL is required \(see --help\)\n$/],
                [["--target", server.url], /^holodeck-check: error: --spec FILE is required \(see --help\)\n$/],
                [["--spec", spec, "--target", "localhost:8000"], /^holodeck-check: error: target localhost:8000 must be an http:\/\/ or https:\/\/ URL\n$/],
                [["--spec", spec, "--target", server.url, "--deadline", "soon"], /^holodeck-check: error: --deadline must be a number of seconds, 0 or more, got "soon"\n$/],
                [["--spec", spec, "--target", server.url, "--var", "1X=2"], /^holodeck-check: error: --var must be NAME=VALUE/],
                [["--spec", spec, "--target", server.url, "--retries", "3"], /^holodeck-check: error: Unknown option '--retries'/],
            ];
            for (const [args, expected] of cases) {
                const result = await runCli(args);
                assert.equal(result.status, 2, `${args.join(" ")}: ${result.stderr}`);
                assert.match(result.stderr, expected);
                assert.equal(result.stdout, "");
            }
            assert.deepEqual(server.requests, []);
        });

        it("runs as the Pulumi program's script on the master: report on stdout, the table on stderr, exit 1 on a failure", () => {
            const spec = fs.readFileSync(sampleChecks, "utf8");
            const targets = apps.map((app) => app.url);
            const runScript = (text: string, version: string) => spawnSync("bash", ["-c", checkScript({ runner: cli, spec: text, variables: { VERSION: version }, targets })], {
                encoding: "utf8", cwd: cliDir, env: { ...process.env, TMPDIR: cliDir },
            });
            const passing = runScript(spec, projectVersion);
            assert.equal(passing.status, 0, passing.stderr);
            const report = parseReport(passing.stdout);
            assert.deepEqual([report.passed, report.checks, report.failures, report.targets], [true, 6, 0, targets]);
            assert.match(passing.stderr, /6 of 6 passed, 0 failed/);
            assert.doesNotMatch(passing.stderr, /ExperimentalWarning/);

            // Another version than the servers report: the release is not the one deployed.
            const failing = runScript(spec.replace(/^deadlineSeconds: .*$/m, "deadlineSeconds: 0.3"), "9.9.9");
            assert.equal(failing.status, 1);
            assert.equal(parseReport(failing.stdout).failures, 4);
            assert.match(failing.stderr, /FAIL +json +.*\$\.version/);
            assert.deepEqual(fs.readdirSync(cliDir).filter((file) => file.startsWith("tmp")), [], "the check file's copy is removed");
        });

        it("installs Debian's Node.js first on a master without it, waiting while another apt run holds apt's lock", () => {
            // Only fakes of sudo, apt-get and sleep, and the tools the script uses: no node until apt-get installs it.
            const bin = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-apt-"));
            try {
                const log = path.join(bin, "log");
                for (const tool of ["mktemp", "cat", "rm", "seq", "grep", "ln"]) fs.symlinkSync(spawnSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim(), path.join(bin, tool));
                const fake = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
                fake("sudo", 'exec /usr/bin/env "$@"');
                fake("sleep", `echo "sleep $*" >>${log}`);
                // The lists' lock is held for the first two updates, as apt-daily would hold it.
                fake("apt-get", [
                    `echo "$*" >>${log}`,
                    'if [ "$1" = update ]; then',
                    `  [ "$(grep -c '^update' ${log})" -gt 2 ] || { echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 7 (apt-get)" >&2; exit 100; }`,
                    "else",
                    `  ln -s ${shellQuote(process.execPath)} ${bin}/node`,
                    "fi",
                ].join("\n"));
                const result = spawnSync("/bin/bash", ["-c", checkScript({ runner: cli, spec: fs.readFileSync(sampleChecks, "utf8"), variables: { VERSION: projectVersion }, targets: [apps[0].url] })], {
                    encoding: "utf8", cwd: cliDir, env: { PATH: bin, TMPDIR: cliDir }, stdio: ["ignore", "pipe", "pipe"],
                });
                assert.equal(result.status, 0, result.stderr);
                assert.equal(parseReport(result.stdout).passed, true);
                assert.deepEqual(fs.readFileSync(log, "utf8").trim().split("\n"), [
                    "update -q", "sleep 10", "update -q", "sleep 10", "update -q", "-o DPkg::Lock::Timeout=300 install -y -q nodejs",
                ]);
                assert.equal(result.stderr.match(/apt-get update failed \(another apt run holding its lock\?\); trying again in 10 s/g)?.length, 2);
            } finally {
                fs.rmSync(bin, { recursive: true, force: true });
            }
        });

        it("prints its usage with --help", async () => {
            const result = await runCli(["--help"]);
            assert.equal(result.status, 0);
            assert.match(result.stdout, /^usage: holodeck-check --spec FILE --target URL/);
            assert.match(result.stdout, /Exit status: 0 all checks passed, 1 some check failed, 2 /);
        });
    });
});

describe("holodeck-check on careless and hostile input", function () {
    /** A TCP server on a free loopback port that answers every connection with `answer`. */
    async function rawServer(answer: (socket: net.Socket) => void): Promise<{ url: string; connections(): number; close(): Promise<void> }> {
        const sockets = new Set<net.Socket>();
        let connections = 0;
        const server = net.createServer((socket) => {
            connections += 1;
            sockets.add(socket);
            socket.on("close", () => sockets.delete(socket));
            socket.on("error", () => undefined);
            answer(socket);
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        return {
            url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
            connections: () => connections,
            close: () => {
                for (const socket of sockets) socket.destroy();
                return new Promise((resolve) => server.close(() => resolve()));
            },
        };
    }
    const ok = (socket: net.Socket) => socket.once("data", () => socket.end("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"));
    const once = (text: string) => parseSpec(`deadlineSeconds: 0\nchecks: [{name: home, path: /}]\n${text}`, "checks.yaml");

    it("says in a sentence that a port answers in another protocol than HTTP, not with a parser code alone", async () => {
        const ssh = await rawServer((socket) => socket.write("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"));
        const garbage = await rawServer((socket) => socket.once("data", () => socket.end("HTTP/1.1 200 OK\r\ncontent-length: many\r\n\r\n")));
        const hangsUp = await rawServer((socket) => socket.once("data", () => socket.end()));
        try {
            const report = await runChecks(once(""), [ssh.url, garbage.url, hangsUp.url]);
            assert.deepEqual(report.results.map((result) => result.failure), [
                { kind: "unreachable", message: `${ssh.url}/ answered in something other than HTTP (no "HTTP/" status line; HPE_INVALID_CONSTANT): another service (SSH, TLS, a database) listens on that port, not the app` },
                { kind: "unreachable", message: `${garbage.url}/ answered with malformed HTTP (Invalid character in Content-Length; HPE_INVALID_CONTENT_LENGTH)` },
                { kind: "unreachable", message: `${hangsUp.url}/ closed the connection without an answer (UND_ERR_SOCKET)` },
            ]);
        } finally {
            await Promise.all([ssh.close(), garbage.close(), hangsUp.close()]);
        }
    });

    it("bounds requestTimeoutSeconds to what a timer holds, and takes fractions of a millisecond", async () => {
        assert.throws(() => once("requestTimeoutSeconds: 2147484"), (error: unknown) => error instanceof SpecError && error.problems.length === 1
            && error.problems[0] === "checks.yaml: requestTimeoutSeconds must be a number above 0 and at most 2147483 (what a Node.js timer can hold, 24.8 days), got 2147484 (a number)");
        const server = await rawServer(ok);
        const silent = await rawServer(() => undefined);
        try {
            // The longest timeout allowed does not fire at once (a timer past 2^31-1 ms would).
            const longest = await runChecks(once("requestTimeoutSeconds: 2147483"), [server.url]);
            assert.equal(longest.results[0].failure, null);
            const tiny = await runChecks(once("requestTimeoutSeconds: 0.0015"), [silent.url]);
            assert.deepEqual(tiny.results[0].failure, { kind: "timeout", message: `no complete answer from ${silent.url}/ within 2 ms` });
        } finally {
            await Promise.all([server.close(), silent.close()]);
        }
    });

    const refused: [string, string, RegExp][] = [
        ["a header value that is not ASCII", "checks: [{name: home, path: /, headers: {X-Name: Zoë}}]",
            /^bad\.yaml: checks\[0\] \("home"\): headers\.X-Name must be printable ASCII: a header cannot carry other characters \(percent-encode them\), got "Zoë" \(a string\)$/],
        ["a header fetch frames itself", "checks: [{name: home, method: POST, path: /, body: x, headers: {Transfer-Encoding: chunked}}]",
            /^bad\.yaml: checks\[0\] \("home"\): headers\.Transfer-Encoding is the HTTP client's own \(it frames the request from the body and manages the connection\): remove it$/],
        ["a file of exploding aliases", `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nchecks: [{name: home, path: /}]\n`,
            /^bad\.yaml: not usable YAML: Excessive alias count indicates a resource exhaustion attack$/],
    ];
    for (const [what, text, expected] of refused) {
        it(`refuses ${what}`, () => {
            assert.throws(() => parseSpec(text, "bad.yaml"), (error: unknown) => {
                assert.ok(error instanceof SpecError, String(error));
                assert.equal(error.problems.length, 1, error.message);
                assert.match(error.problems[0], expected);
                return true;
            });
        });
    }

    describe("the command line", () => {
        let dir: string;
        let cli: string;
        before(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-check-input-"));
            cli = path.join(dir, "holodeck-check.js");
            fs.writeFileSync(cli, bundleChecker());
            fs.writeFileSync(path.join(dir, "checks.yaml"), "deadlineSeconds: 0\nchecks: [{name: home, path: /}]\n");
        });
        after(() => fs.rmSync(dir, { recursive: true, force: true }));
        const runCli = (args: string[]) => runAsync(process.execPath, [cli, "--spec", path.join(dir, "checks.yaml"), ...args], { cwd: dir });

        it("never prints a password or token given in --target", async () => {
            const secret = "Tr0ub4dor-s3cret";
            const cases: [string, RegExp][] = [
                [`http://deploy:${secret}@127.0.0.1:8000`, /^holodeck-check: error: target http:\/\/\[redacted\]@127\.0\.0\.1:8000 carries credentials: checks send none/],
                [`https://${secret}@app.example.com`, /^holodeck-check: error: target https:\/\/\[redacted\]@app\.example\.com carries credentials/],
                [`http://deploy:${secret.replace("-", " ")}@127.0.0.1:8000`, /^holodeck-check: error: target http:\/\/\[redacted\]@127\.0\.0\.1:8000 carries credentials/],
                [`http://deploy:${secret}/x@127.0.0.1:8000`, /^holodeck-check: error: target http:\/\/\[redacted\]@127\.0\.0\.1:8000 carries credentials/],
                [`http://127.0.0.1:8000/?token=${secret}`, /^holodeck-check: error: target http:\/\/127\.0\.0\.1:8000\/\?token=\[redacted\] must be a base URL with no query/],
            ];
            for (const [target, expected] of cases) {
                const result = await runCli(["--target", target]);
                assert.equal(result.status, 2, result.stderr);
                assert.match(result.stderr, expected);
                assert.ok(!`${result.stdout}${result.stderr}`.includes(secret.slice(0, 8)), `${target}: ${result.stderr}`);
            }
        });

        it("keeps a credential in a check's query out of its reports", async () => {
            const server = await rawServer(ok);
            try {
                const spec = path.join(dir, "token.yaml");
                fs.writeFileSync(spec, "deadlineSeconds: 0\nchecks: [{name: home, path: '/?api_key={{KEY}}', expect: {status: 201}}]\n");
                const result = await runAsync(process.execPath, [cli, "--spec", spec, "--var", "KEY=k3y-s3cret", "--target", server.url, "--json", "-"], { cwd: dir });
                assert.equal(result.status, 1, result.stderr);
                assert.equal((JSON.parse(result.stdout) as RunReport).results[0].url, `${server.url}/?api_key=[redacted]`);
                assert.ok(!`${result.stdout}${result.stderr}`.includes("k3y-s3cret"));
            } finally {
                await server.close();
            }
        });

        it("refuses an endless or huge check file and an unwritable report before running anything", async () => {
            const server = await rawServer(ok);
            try {
                const endless = await runAsync(process.execPath, [cli, "--spec", "/dev/zero", "--target", server.url], { cwd: dir });
                assert.equal(endless.status, 2);
                assert.equal(endless.stderr, "holodeck-check: error: /dev/zero: cannot read the check file: it is larger than 1 MiB: is it the check file?\n");
                const missingDir = path.join(dir, "no-such-dir", "report.json");
                for (const [option, file] of [["--json", missingDir], ["--junit", dir]]) {
                    const result = await runCli(["--target", server.url, option, file]);
                    assert.equal(result.status, 2, result.stderr);
                    assert.match(result.stderr, new RegExp(`^holodeck-check: error: cannot write the report ${file.replace(/[/.]/g, "\\$&")}: .* \\(nothing was run\\)\\n$`));
                }
                assert.equal(server.connections(), 0, "no request was made");
            } finally {
                await server.close();
            }
        });
    });
});
