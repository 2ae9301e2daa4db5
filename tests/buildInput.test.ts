// holodeck-build against careless and hostile input, for real: credentials in URLs, signals
// during pip, an unusable --out, package indexes that are unreachable, stall or want a password,
// and systemd command lines, checked by the same rules here, in the script and by systemd itself.
import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError, parseConfig, RawConfig } from "../config";
import { serviceCommandProblem } from "../lib/holoMaker";
import { commitDirectory, debianWheels, holodeckBuild, sampleAppDir, withConfigFile } from "../tools/localRelease";

interface Finished {
    readonly status: number | null;
    readonly signal: NodeJS.Signals | null;
    readonly stdout: string;
    readonly stderr: string;
}

/** Starts holodeck-build without blocking the event loop (the servers below answer it). */
function startBuild(args: string[], options: { tmp: string; stdin?: string; command?: string[] }) {
    const [command, ...prefix] = options.command ?? [holodeckBuild];
    const child = spawn(command, [...prefix, ...withConfigFile(args)], { env: { ...process.env, TMPDIR: options.tmp }, stdio: ["pipe", "pipe", "pipe"] });
    child.stdin.end(options.stdin ?? "");
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const done = new Promise<Finished>((resolve, reject) => {
        child.on("error", reject);
        child.on("close", (status, signal) => resolve({ status, signal, stdout, stderr }));
    });
    return { child, done };
}

/** Processes (other than this one) whose command line or environment contains `text`. */
function processesMentioning(text: string): string[] {
    const found: string[] = [];
    for (const pid of fs.readdirSync("/proc").filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)) {
        for (const file of ["cmdline", "environ"]) {
            try {
                const content = fs.readFileSync(`/proc/${pid}/${file}`, "utf8");
                if (content.includes(text)) found.push(`${pid} (${file}): ${content.replace(/\0/g, " ").slice(0, 300)}`);
            } catch {
                // The process ended while we looked.
            }
        }
    }
    return found;
}

/** Every file below `dir`, with its content, for "left as it was" comparisons. */
function snapshot(dir: string): Record<string, string> {
    const files: Record<string, string> = {};
    for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
        const file = path.join(entry.parentPath, entry.name);
        files[path.relative(dir, file)] = entry.isFile() ? fs.readFileSync(file, "base64") : entry.isDirectory() ? "dir" : "other";
    }
    return files;
}

interface Index {
    readonly url: string;
    readonly requests: { path: string; authorized: boolean }[];
    close(): Promise<void>;
}

/**
 * A PEP 503 simple index of Debian's wheels (pip, setuptools, wheel) on loopback; with `auth`,
 * it answers 401 to requests without that user and password. `onAuthorized` runs before each
 * authorized answer.
 */
function startIndex(auth?: { user: string; password: string }, onAuthorized?: () => void): Promise<Index> {
    const wheels = fs.readdirSync(debianWheels).filter((file) => file.endsWith(".whl"));
    const requests: { path: string; authorized: boolean }[] = [];
    const expected = auth ? `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString("base64")}` : undefined;
    const server = http.createServer((request, response) => {
        const url = request.url ?? "/";
        const authorized = !expected || request.headers.authorization === expected;
        requests.push({ path: url, authorized });
        if (!authorized) {
            response.writeHead(401, { "WWW-Authenticate": 'Basic realm="holodeck-test"' }).end();
            return;
        }
        onAuthorized?.();
        const project = /^\/simple\/([^/]+)\/$/.exec(url)?.[1];
        const file = /^\/files\/([^/]+)$/.exec(url)?.[1];
        if (url === "/simple/") {
            response.writeHead(200, { "Content-Type": "text/html" }).end("<html><body></body></html>");
        } else if (project) {
            const links = wheels.filter((wheel) => wheel.split("-")[0].toLowerCase().replace(/[-_.]+/g, "-") === project)
                .map((wheel) => `<a href="/files/${wheel}">${wheel}</a>`);
            if (links.length) response.writeHead(200, { "Content-Type": "text/html" }).end(`<html><body>${links.join("\n")}</body></html>`);
            else response.writeHead(404).end();
        } else if (file && wheels.includes(file)) {
            response.writeHead(200, { "Content-Type": "application/octet-stream" }).end(fs.readFileSync(path.join(debianWheels, file)));
        } else {
            response.writeHead(404).end();
        }
    });
    return new Promise((resolve) => server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as net.AddressInfo;
        resolve({
            url: `http://127.0.0.1:${port}/simple/`,
            requests,
            close: () => new Promise((done) => {
                server.closeAllConnections();
                server.close(() => done());
            }),
        });
    }));
}

describe("holodeck-build against careless and hostile input", function () {
    let scratch: string;
    let sampleRepo: string;
    let sampleCommit: string;
    let runs = 0;
    /** A fresh, empty TMPDIR and --out for one run. */
    function dirs(): { tmp: string; out: string } {
        runs += 1;
        const tmp = path.join(scratch, `tmp-${runs}`);
        const out = path.join(scratch, `out-${runs}`);
        fs.mkdirSync(tmp, { recursive: true });
        fs.mkdirSync(out, { recursive: true });
        return { tmp, out };
    }
    function lastLine(text: string): string {
        const lines = text.trim().split("\n");
        return lines[lines.length - 1];
    }

    before(() => {
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-build-input-"));
        sampleRepo = path.join(scratch, "sample");
        sampleCommit = commitDirectory(sampleAppDir, sampleRepo);
    });
    after(() => fs.rmSync(scratch, { recursive: true, force: true }));

    describe("credentials in URLs", () => {
        const token = "ghp_s3cretT0kenHolodeck";

        it("never prints a token embedded in --repo, in its own messages or git's", async () => {
            // A git server that knows no repository: git fails and says so, with the URL.
            const server = http.createServer((_, response) => response.writeHead(404).end("no such repository"));
            await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
            const { port } = server.address() as net.AddressInfo;
            try {
                const { tmp, out } = dirs();
                const result = await startBuild(["--repo", `http://builder:${token}@127.0.0.1:${port}/org/app.git`, "--commit", sampleCommit,
                    "--out", out, "--find-links", debianWheels], { tmp }).done;
                assert.equal(result.status, 1, result.stderr);
                assert.doesNotMatch(result.stdout + result.stderr, new RegExp(token));
                assert.doesNotMatch(result.stdout + result.stderr, /builder@/);
                assert.match(result.stderr, new RegExp(`fetching commit ${sampleCommit} from http://127\\.0\\.0\\.1:${port}/org/app\\.git`));
                assert.match(lastLine(result.stderr), new RegExp(`^holodeck-build: error: repository 'http://127\\.0\\.0\\.1:${port}/org/app\\.git' is unreachable`));
                assert.deepEqual(fs.readdirSync(tmp), []);
            } finally {
                server.close();
            }
        });

        it("refuses credentials in --index-url and --find-links on the command line, without printing them", async () => {
            for (const flag of ["--index-url", "--find-links"]) {
                const { tmp, out } = dirs();
                const result = await startBuild(["--repo", sampleRepo, "--commit", sampleCommit, "--out", out,
                    flag, `https://builder:${token}@pypi.example.com/simple/`], { tmp }).done;
                assert.equal(result.status, 2, result.stderr);
                assert.doesNotMatch(result.stderr, new RegExp(token));
                assert.match(result.stderr, new RegExp(`^holodeck-build: error: ${flag} .*holds credentials, which every user of this machine can read in the process list`));
                assert.match(result.stderr, /--index-url -/);
            }
        });
    });

    describe("an unusable --out is refused before any work, with exit code 2", () => {
        async function refusedOut(out: string, command?: string[]): Promise<string> {
            const { tmp } = dirs();
            const result = await startBuild(["--repo", sampleRepo, "--commit", sampleCommit, "--out", out, "--find-links", debianWheels],
                { tmp, command }).done;
            assert.equal(result.status, 2, result.stderr);
            assert.doesNotMatch(result.stderr, /\[1\/7\]/, "no step ran");
            assert.deepEqual(fs.readdirSync(tmp), []);
            return lastLine(result.stderr);
        }

        it("below a file", async () => {
            const file = path.join(scratch, "a-file");
            fs.writeFileSync(file, "");
            assert.equal(await refusedOut(path.join(file, "out")), `holodeck-build: error: --out '${file}/out' cannot be created: '${file}' is not a directory`);
        });

        it("with a name longer than the file system allows, creating nothing", async () => {
            const parent = path.join(scratch, "long-parent");
            const out = path.join(parent, "x".repeat(300), "out");
            assert.match(await refusedOut(out), /^holodeck-build: error: --out '.*' cannot be created \(File name too long\): choose another directory$/);
            assert.equal(fs.existsSync(parent), false, "the directories it made are removed again");
        });

        it("on a read-only file system (root writes anywhere else)", async () => {
            const readOnly = path.join(scratch, "read-only");
            fs.mkdirSync(readOnly);
            // A read-only bind mount in a private mount namespace: real, and invisible outside it.
            const command = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"', "sh", readOnly, holodeckBuild];
            assert.equal(await refusedOut(path.join(readOnly, "out"), command),
                `holodeck-build: error: --out '${readOnly}/out' cannot be created (Read-only file system): choose another directory`);
            fs.mkdirSync(path.join(readOnly, "out"));
            assert.equal(await refusedOut(path.join(readOnly, "out"), command),
                `holodeck-build: error: --out '${readOnly}/out' is not writable (Read-only file system): choose another directory`);
        });
    });

    describe("a signal during the pip step", () => {
        for (const [signal, code] of [["SIGTERM", 143], ["SIGINT", 130]] as const) {
            it(`${signal} stops pip and every other child, removes the scratch files and exits ${code}`, async () => {
                const { tmp, out } = dirs();
                fs.writeFileSync(path.join(out, "earlier.deb"), "a release built before");
                const before = snapshot(out);
                let build: ReturnType<typeof startBuild> | undefined;
                // An index that accepts connections and never answers: pip waits on it.
                const connected = new Promise<string[]>((resolve) => {
                    const stall = net.createServer(() => resolve(processesMentioning(tmp)));
                    stall.listen(0, "127.0.0.1", () => {
                        const { port } = stall.address() as net.AddressInfo;
                        build = startBuild(["--repo", sampleRepo, "--commit", sampleCommit, "--out", out,
                            "--index-url", `http://127.0.0.1:${port}/simple/`], { tmp });
                        void build.done.finally(() => {
                            stall.close();
                            for (const socket of sockets) socket.destroy();
                        });
                    });
                    const sockets: net.Socket[] = [];
                    stall.on("connection", (socket) => sockets.push(socket));
                });
                const running = await connected;
                assert.ok(build);
                assert.ok(running.some((line) => / -m pip wheel /.test(line)), `pip is running with the scratch dir:\n${running.join("\n")}`);
                build.child.kill(signal);
                const result = await build.done;
                assert.equal(result.status, code, result.stderr);
                assert.match(result.stderr, new RegExp(`holodeck-build: ${signal} received: stopping the build`));
                assert.deepEqual(processesMentioning(tmp), [], "no process of the build remains");
                assert.deepEqual(fs.readdirSync(tmp), [], "TMPDIR is left as it was");
                assert.deepEqual(snapshot(out), before, "--out is left as it was");
            });
        }
    });

    describe("package indexes: unreachable, refusing, or reachable with a failing project", () => {
        function sourcesRefusal(result: Finished, tmp: string, out: string): string {
            assert.equal(result.status, 1, result.stderr);
            assert.deepEqual(fs.readdirSync(tmp), []);
            assert.deepEqual(fs.readdirSync(out), []);
            return lastLine(result.stderr);
        }

        it("names an index that cannot be reached, and does not blame the project", async () => {
            const { tmp, out } = dirs();
            const index = "http://holodeck-no-such-index.invalid/simple/";
            const result = await startBuild(["--repo", sampleRepo, "--commit", sampleCommit, "--out", out, "--index-url", index], { tmp }).done;
            const last = sourcesRefusal(result, tmp, out);
            assert.match(last, new RegExp(`^holodeck-build: error: the package index ${index} could not be reached \\(.+\\): check the URL`));
            assert.doesNotMatch(result.stderr, /building the project failed/);
        });

        it("says the index refused the credentials, without printing them", async () => {
            const index = await startIndex({ user: "builder", password: "the-right-one" });
            try {
                const { tmp, out } = dirs();
                const wrong = "Wr0ng-pa55word";
                const result = await startBuild(["--repo", sampleRepo, "--commit", sampleCommit, "--out", out, "--index-url", "-"],
                    { tmp, stdin: `${index.url.replace("//", `//builder:${wrong}@`)}\n` }).done;
                assert.equal(sourcesRefusal(result, tmp, out),
                    `holodeck-build: error: the package index ${index.url} refused the credentials (HTTP 401): check the URL, its credentials and this machine's network and proxy (the project itself was not built)`);
                assert.doesNotMatch(result.stdout + result.stderr, new RegExp(wrong));
            } finally {
                await index.close();
            }
        });

        it("blames the project when the index answers and the project does not build", async () => {
            const index = await startIndex();
            try {
                const repo = path.join(scratch, "broken");
                fs.mkdirSync(repo);
                fs.writeFileSync(path.join(repo, "setup.py"), "raise SystemExit('this project does not build')\n");
                const commit = commitDirectory(repo, path.join(scratch, "broken-git"));
                const { tmp, out } = dirs();
                const result = await startBuild(["--repo", path.join(scratch, "broken-git"), "--commit", commit, "--out", out, "--index-url", index.url], { tmp }).done;
                assert.match(sourcesRefusal(result, tmp, out), /^holodeck-build: error: building the project failed/);
                assert.ok(index.requests.length > 0, "the index was asked, and answered");
            } finally {
                await index.close();
            }
        });

        it("builds from an index that wants a password read on stdin, which no process, output or file shows", async () => {
            const password = "pa55-Holodeck-index-s3cret";
            const { tmp, out } = dirs();
            const seen: { password: string[]; scratch: string[] }[] = [];
            const index = await startIndex({ user: "builder", password }, () => {
                if (seen.length === 0) seen.push({ password: processesMentioning(password), scratch: processesMentioning(tmp) });
            });
            try {
                // With a service whose arguments hold what systemd reads as a specifier and a variable.
                const result = await startBuild(["--repo", sampleRepo, "--commit", sampleCommit, "--out", out, "--name", "holodeck-hello-index",
                    "--service", "holodeck-hello --host 127.0.0.1 --greeting '50% of $5'",
                    "--index-url", "-"], { tmp, stdin: `${index.url.replace("//", `//builder:${password}@`)}\n` }).done;
                assert.equal(result.status, 0, result.stderr);
                assert.ok(index.requests.some((request) => request.authorized && request.path.startsWith("/files/")), "pip downloaded with the credentials");
                // While pip talked to the index: pip was visible, the password in no argv or environment.
                assert.equal(seen.length, 1);
                assert.ok(seen[0].scratch.some((line) => / -m pip /.test(line)), `pip was running:\n${seen[0].scratch.join("\n")}`);
                assert.deepEqual(seen[0].password, []);
                assert.doesNotMatch(result.stdout + result.stderr, new RegExp(password));
                assert.deepEqual(fs.readdirSync(tmp), [], "the pip configuration file is gone with the scratch directory");
                const manifestPath = lastLine(result.stdout);
                const manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8")) as { file: string };
                assert.deepEqual(fs.readdirSync(out).sort(), [manifest.file, `${manifest.file}.json`].sort());
                const contents = spawnSync("sh", ["-c", 'dpkg-deb --fsys-tarfile "$1"; dpkg-deb --ctrl-tarfile "$1"', "sh", path.join(out, manifest.file)]);
                assert.equal(contents.status, 0);
                assert.equal(contents.stdout.includes(password), false, "the .deb does not hold the password");
                assert.doesNotMatch(fs.readFileSync(manifestPath, "utf8"), new RegExp(password));

                // The unit keeps '%' and '$' literal, and systemd accepts it (the venv's path is not
                // on this machine: verify the same line running /bin/echo).
                const unit = spawnSync("sh", ["-c", 'dpkg-deb --fsys-tarfile "$1" | tar -xO ./lib/systemd/system/holodeck-hello-index.service', "sh",
                    path.join(out, manifest.file)], { encoding: "utf8" }).stdout;
                assert.match(unit, /^ExecStart=\/opt\/venvs\/holodeck-hello-index\/bin\/holodeck-hello --host 127\.0\.0\.1 --greeting '50%% of \$\$5'$/m);
                const unitFile = path.join(scratch, "holodeck-hello-index.service");
                fs.writeFileSync(unitFile, unit.replace(/^ExecStart=\S+/m, "ExecStart=/bin/echo"));
                const verify = spawnSync("systemd-analyze", ["verify", "--man=no", unitFile], { encoding: "utf8" });
                assert.equal(verify.status, 0, verify.stderr);
                assert.equal(verify.stderr, "");
            } finally {
                await index.close();
            }
        });
    });

    describe("--service, by systemd's rules for command lines", () => {
        // [command line, what systemd does with it as ExecStart=, problem Holodeck names ("" for none)]
        const cases: [string, "accepts" | "refuses" | "rewrites", string][] = [
            ["app --host 0.0.0.0 --port 8000", "accepts", ""],
            ["app --name 'a b' --greeting \"hello world\"", "accepts", ""],
            ["app --title=\"two words\"", "accepts", ""],
            ["app --format %h-%Q 50%", "accepts", ""],
            ["app --price 5$ --cost $ --both $$", "accepts", ""],
            ["app ';' x;y", "accepts", ""],
            ["app --label héllo-wörld", "accepts", ""],
            ["app --name \"it's", "refuses", "has an unbalanced \" quote"],
            ["app --name it's", "refuses", "has an unbalanced ' quote"],
            ["app --port 8000 ; rm -rf /", "refuses", "has a lone ';'"],
            ["app ;", "rewrites", "has a lone ';'"],
            ["app --port $PORT", "rewrites", "has $PORT, which systemd replaces"],
            ["app --dir=${STATE_DIRECTORY}/x", "rewrites", "has ${STATE_DIRECTORY}, which systemd replaces"],
            ["app --pattern \\d+", "rewrites", "has a backslash"],
            ["app --sep \\x41", "rewrites", "has a backslash"],
            [`app ${"x".repeat(4100)}`, "accepts", "is longer than 4096 characters"],
        ];

        it("names the same problems here (config.ts) as in holodeck-build", async () => {
            const missingRepo = path.join(scratch, "no-such-repo");
            for (const [command, , expected] of cases) {
                const problem = serviceCommandProblem(command);
                assert.equal(problem.startsWith(expected), true, `${command.slice(0, 60)}: ${problem}`);
                assert.equal(expected === "", problem === "");
                // The service is checked before the repository: an accepted one gets to the repository's error.
                const { tmp, out } = dirs();
                const result = await startBuild(["--repo", missingRepo, "--commit", sampleCommit, "--out", out, "--service", command], { tmp }).done;
                assert.equal(result.status, 2);
                assert.equal(lastLine(result.stderr), problem
                    ? `holodeck-build: error: --service '${command}' ${problem}`
                    : `holodeck-build: error: repository '${missingRepo}' is unreachable: no such directory, and not a git URL`);
            }
        });

        it("agrees with systemd-analyze on what systemd refuses, and escapes what it would read as specifiers", () => {
            const dir = fs.mkdtempSync(path.join(scratch, "units-"));
            for (const [command, systemd, expected] of cases) {
                // ExecStart= the way holodeck-build writes it: '%' and '$' doubled.
                const unit = path.join(dir, "holodeck-case.service");
                fs.writeFileSync(unit, `[Unit]\nDescription=case\n[Service]\nType=exec\nExecStart=/bin/true ${command.replace(/%/g, "%%").replace(/\$/g, "$$$$")}\n`);
                const verify = spawnSync("systemd-analyze", ["verify", "--man=no", unit], { encoding: "utf8" });
                if (systemd === "refuses") {
                    assert.notEqual(verify.status, 0, `systemd refuses ${command}`);
                } else {
                    assert.equal(verify.status, 0, `${command.slice(0, 60)}: ${verify.stderr}`);
                    // An unknown escape is only a warning to systemd: the line is rewritten all the same.
                    assert.equal(verify.stderr.includes("escape") || verify.stderr === "", true, verify.stderr);
                    if (expected === "") assert.equal(verify.stderr, "", `${command}: ${verify.stderr}`);
                }
            }
        });

        it("is refused in holodeck:appService before anything is created", () => {
            const valid: RawConfig = {
                appRepo: "https://git.example.com/org/app.git", commit: "3f786850e387550fdab836ed7e6dc881de23001b",
                imageId: "5f3c1a52-9d0e-4c1b-8a55-0a8f1e2b3c4d", flavor: "gp.0.2.4", adminCidr: "203.0.113.0/24",
                "openstack:authUrl": "https://keystone.api.sjc3.rackspacecloud.com/v3", appConfig: '{"greeting": "Hello"}',
                checkFile: "examples/hello/holodeck-checks.yaml",
            };
            for (const [command, , expected] of cases) {
                let problems: readonly string[] = [];
                try {
                    parseConfig({ ...valid, appService: command });
                } catch (error) {
                    assert.ok(error instanceof ConfigError, String(error));
                    problems = error.problems;
                }
                assert.deepEqual(problems, expected ? [`holodeck:appService '${command}' ${serviceCommandProblem(command)}`] : []);
            }
        });
    });

    describe("further careless input", () => {
        async function refused(args: string[], exitCode = 2): Promise<string> {
            const { tmp, out } = dirs();
            const result = await startBuild([...args, "--out", out, "--find-links", debianWheels], { tmp }).done;
            assert.equal(result.status, exitCode, result.stderr);
            assert.deepEqual(fs.readdirSync(tmp), []);
            assert.deepEqual(fs.readdirSync(out), []);
            return lastLine(result.stderr);
        }

        it("a directory that is no git repository", async () => {
            const plain = path.join(scratch, "plain");
            fs.mkdirSync(plain);
            fs.writeFileSync(path.join(plain, "setup.py"), "");
            assert.equal(await refused(["--repo", plain, "--commit", sampleCommit]),
                `holodeck-build: error: --repo '${plain}' is a directory but no git repository: commit the project (git init, git commit) and point --repo at the repository`);
        });

        it("a directory inside a repository", async () => {
            assert.equal(await refused(["--repo", path.join(sampleRepo, "src"), "--commit", sampleCommit]),
                `holodeck-build: error: --repo '${sampleRepo}/src' lies inside the git repository '${sampleRepo}': point --repo at that repository and --subdir at the project`);
        });

        it("a --subdir that leaves the repository through a symbolic link", async () => {
            const repo = path.join(scratch, "with-link");
            fs.mkdirSync(repo);
            fs.symlinkSync("../..", path.join(repo, "app"));
            const commit = commitDirectory(repo, path.join(scratch, "with-link-git"));
            assert.equal(await refused(["--repo", path.join(scratch, "with-link-git"), "--commit", commit, "--subdir", "app"], 1),
                "holodeck-build: error: --subdir 'app' leads out of the repository through a symbolic link: name the project's real directory");
        });

        it("a --service that is not valid UTF-8", async () => {
            const { tmp, out } = dirs();
            // Bytes reach the script as they are only through a shell.
            const result = spawnSync("bash", ["-c", `exec "$0" --repo "$1" --commit "$2" --out "$3" --service $'app --name \\xff'`, holodeckBuild,
                sampleRepo, sampleCommit, out], { encoding: "utf8", env: { ...process.env, TMPDIR: tmp } });
            assert.equal(result.status, 2, result.stderr);
            assert.equal(lastLine(result.stderr), "holodeck-build: error: --service is not valid UTF-8, which systemd requires");
        });

        it("a --service without the config path its unit hands the app, or with one a unit cannot hold", () => {
            for (const [config, expected] of [
                [[], "holodeck-build: error: --service needs --config-file PATH: where Salt writes the app's config (the unit's $HOLODECK_CONFIG; {app} stands for the package name)"],
                [["--config-file", "etc/app.ini"], "holodeck-build: error: --config-file 'etc/app.ini' must be an absolute path of letters, digits and ._+-/ ({app} for the package name)"],
                [["--config-file", "/etc/%n/app.ini"], "holodeck-build: error: --config-file '/etc/%n/app.ini' must be an absolute path of letters, digits and ._+-/ ({app} for the package name)"],
            ] as const) {
                const { tmp, out } = dirs();
                const result = spawnSync(holodeckBuild, ["--repo", sampleRepo, "--commit", sampleCommit, "--out", out, "--service", "app", ...config],
                    { encoding: "utf8", env: { ...process.env, TMPDIR: tmp } });
                assert.equal(result.status, 2, result.stderr);
                assert.equal(lastLine(result.stderr), expected);
            }
        });
    });
});
