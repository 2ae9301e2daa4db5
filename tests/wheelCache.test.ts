// holodeck-build --wheel-cache, for real: an app whose dependency exists only as an sdist, built
// cold and warm (a new commit, the same dependencies) from real git commits.
import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { commitDirectory, debianWheels, run, runHolodeckBuild } from "../tools/localRelease";
import { Manifest } from "../lib/holoMaker";

const python = "/usr/bin/python3";

function writeFiles(dir: string, files: Record<string, string>): void {
    for (const [file, content] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), content);
    }
}

/**
 * Writes the sdist stamp-1.0.tar.gz into `dir`. Its build appends a line to `buildLog` (so a test
 * sees every build of it) and writes SOURCE_DATE_EPOCH, as its build saw it, into the wheel.
 */
function writeStampSdist(dir: string, buildLog: string, greeting: string): void {
    const src = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-stamp-"));
    writeFiles(path.join(src, "stamp-1.0"), {
        "pyproject.toml": '[build-system]\nrequires = ["setuptools>=61", "wheel"]\nbuild-backend = "setuptools.build_meta"\n',
        "PKG-INFO": "Metadata-Version: 2.1\nName: stamp\nVersion: 1.0\n",
        "stamp/__init__.py": `GREETING = ${JSON.stringify(greeting)}\n`,
        "setup.py": [
            "import os",
            "from setuptools import setup",
            "from setuptools.command.build_py import build_py",
            "class Stamp(build_py):",
            "    def run(self):",
            "        super().run()",
            `        with open(${JSON.stringify(buildLog)}, "a") as log:`,
            '            log.write("built\\n")',
            '        with open(os.path.join(self.build_lib, "stamp", "built.py"), "w") as out:',
            '            out.write("EPOCH = %r\\n" % os.environ.get("SOURCE_DATE_EPOCH"))',
            'setup(name="stamp", version="1.0", packages=["stamp"], cmdclass={"build_py": Stamp})',
            "",
        ].join("\n"),
    });
    run("tar", ["-C", src, "--sort=name", "--owner=0", "--group=0", "--mtime=@0", "-czf", path.join(dir, "stamp-1.0.tar.gz"), "stamp-1.0"]);
    fs.rmSync(src, { recursive: true, force: true });
}

/**
 * The app: one module, depending on stamp. `revision` changes its code, not its dependencies.
 * Its build backend is setuptools', through an in-tree module that appends the prefix of the
 * environment it runs in to `backendLog` whenever a build loads it.
 */
function writeApp(dir: string, revision: number, backendLog: string, dependencies = ["stamp==1.0"]): void {
    writeFiles(dir, {
        "_build/logging_backend.py": [
            "import sys",
            "from setuptools.build_meta import *",
            `with open(${JSON.stringify(backendLog)}, "a") as log:`,
            '    log.write(sys.prefix + "\\n")',
            "",
        ].join("\n"),
        "pyproject.toml": [
            "[build-system]",
            'requires = ["setuptools>=61"]',
            'build-backend = "logging_backend"',
            'backend-path = ["_build"]',
            "[project]",
            'name = "holodeck-cached"',
            'version = "1.0.0"',
            `dependencies = ${JSON.stringify(dependencies)}`,
            "[tool.setuptools]",
            'package-dir = {"" = "src"}',
            'packages = ["holodeck_cached"]',
            "",
        ].join("\n"),
        "src/holodeck_cached/__init__.py": `REVISION = ${revision}\n`,
    });
}

function sha256(file: string): string {
    return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

function builds(log: string): number {
    return fs.existsSync(log) ? fs.readFileSync(log, "utf8").split("\n").filter(Boolean).length : 0;
}

describe("holodeck-build --wheel-cache", function () {
    this.timeout(300_000);
    let scratch: string;
    let wheelhouse: string;
    let buildLog: string;
    let backendLog: string;
    let repoA: string;
    let repoB: string;
    let commitA: string;
    let commitB: string;

    /** Builds `commit` of `repo` and returns the .deb's path. */
    function build(name: string, repo: string, commit: string, extra: string[]): string {
        const out = path.join(scratch, `out-${name}`);
        const result = runHolodeckBuild([
            "--repo", repo, "--commit", commit, "--out", out,
            "--find-links", wheelhouse, "--find-links", debianWheels, ...extra,
        ]);
        assert.equal(result.status, 0, result.stderr);
        const manifest = JSON.parse(fs.readFileSync(result.stdout.trim().split("\n").pop() ?? "", "utf8")) as Manifest;
        return path.join(out, manifest.file);
    }

    function installedFile(deb: string, file: string): string {
        const tree = fs.mkdtempSync(path.join(scratch, "unpacked-"));
        run("dpkg-deb", ["-x", deb, tree]);
        const minor = run(python, ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"]).trim();
        return fs.readFileSync(path.join(tree, `opt/venvs/holodeck-cached/lib/python${minor}/site-packages`, file), "utf8");
    }

    before(() => {
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-wheelcache-"));
        wheelhouse = path.join(scratch, "wheelhouse");
        buildLog = path.join(scratch, "stamp-builds.log");
        backendLog = path.join(scratch, "backend-prefixes.log");
        fs.mkdirSync(wheelhouse);
        writeStampSdist(wheelhouse, buildLog, "hello");
        // Two commits of the app at different times: the second changes code, not dependencies.
        const appA = path.join(scratch, "app-a");
        const appB = path.join(scratch, "app-b");
        writeApp(appA, 1, backendLog);
        writeApp(appB, 2, backendLog);
        repoA = path.join(scratch, "repo-a");
        repoB = path.join(scratch, "repo-b");
        commitA = commitDirectory(appA, repoA, "2026-01-02T03:04:05Z");
        commitB = commitDirectory(appB, repoB, "2026-02-03T04:05:06Z");
    });
    after(() => fs.rmSync(scratch, { recursive: true, force: true }));

    it("reuses a dependency's wheel for a new commit, and the warm .deb is bit-identical to a cold one", () => {
        const cache = path.join(scratch, "cache");
        build("prime", repoA, commitA, ["--wheel-cache", cache]);
        assert.equal(builds(buildLog), 1, "the first build builds stamp from its sdist");

        const warm = build("warm", repoB, commitB, ["--wheel-cache", cache]);
        assert.equal(builds(buildLog), 1, "the warm build takes stamp's wheel from the cache");

        const cold = build("cold", repoB, commitB, ["--wheel-cache", path.join(scratch, "empty-cache")]);
        assert.equal(builds(buildLog), 2, "a build with an empty cache builds stamp again");
        const uncached = build("uncached", repoB, commitB, []);
        assert.equal(builds(buildLog), 3);

        assert.equal(sha256(warm), sha256(cold));
        assert.equal(sha256(uncached), sha256(cold), "the cache does not change what is built");
        // A dependency never sees the app's commit time, so its wheel does not depend on the commit.
        assert.equal(installedFile(warm, "stamp/built.py"), "EPOCH = '315532800'\n");
        assert.equal(installedFile(warm, "holodeck_cached/__init__.py"), "REVISION = 2\n");
    });

    it("builds the project in an environment kept in the cache, the same as pip's isolated one", () => {
        const cache = path.join(scratch, "cache-env");
        const prefixes = () => fs.readFileSync(backendLog, "utf8").trim().split("\n");
        build("env-prime", repoA, commitA, ["--wheel-cache", cache]);
        const environments = fs.readdirSync(cache).flatMap((key) => fs.readdirSync(path.join(cache, key)))
            .filter((entry) => entry.startsWith("build-env-"));
        assert.equal(environments.length, 1, "one build environment, for setuptools");

        const before = prefixes().length;
        const warm = build("env-warm", repoB, commitB, ["--wheel-cache", cache]);
        const loads = prefixes().slice(before);
        assert.ok(loads.length > 0);
        for (const prefix of loads) {
            assert.match(prefix, new RegExp(`^${cache}/[0-9a-f]{64}/build-env-[0-9a-f]{64}$`));
        }

        const afterWarm = prefixes().length;
        const isolated = build("env-isolated", repoB, commitB, []);
        assert.ok(prefixes().slice(afterWarm).every((prefix) => !prefix.startsWith(cache)), "pip's own isolated build");
        assert.equal(sha256(warm), sha256(isolated));
    });

    it("builds a changed sdist again, though its name, version and file name are the same", () => {
        const cache = path.join(scratch, "cache-changed");
        build("before-change", repoA, commitA, ["--wheel-cache", cache]);
        assert.equal(installedFile(build("same", repoB, commitB, ["--wheel-cache", cache]), "stamp/__init__.py"), 'GREETING = "hello"\n');
        const before = builds(buildLog);

        writeStampSdist(wheelhouse, buildLog, "changed");
        const deb = build("after-change", repoB, commitB, ["--wheel-cache", cache]);
        assert.equal(builds(buildLog), before + 1, "the changed sdist is built, not taken from the cache");
        assert.equal(installedFile(deb, "stamp/__init__.py"), 'GREETING = "changed"\n');
        writeStampSdist(wheelhouse, buildLog, "hello");
    });

    it("keeps the resolution of the dependencies for a new commit, and resolves again when they change", () => {
        const cache = path.join(scratch, "cache-resolved");
        const resolutions = () => fs.readdirSync(cache).flatMap((key) => fs.readdirSync(path.join(cache, key))
            .filter((entry) => entry.startsWith("resolved-")).map((entry) => path.join(cache, key, entry)));
        build("resolve-prime", repoA, commitA, ["--wheel-cache", cache]);
        assert.equal(resolutions().length, 1);
        assert.deepEqual(fs.readdirSync(resolutions()[0]), ["stamp-1.0-py3-none-any.whl"], "the dependencies, not the app");

        // Without pip's own cache of built wheels, only a kept resolution spares building stamp again.
        for (const key of fs.readdirSync(cache)) fs.rmSync(path.join(cache, key, "wheels"), { recursive: true, force: true });
        const before = builds(buildLog);
        const warm = build("resolve-warm", repoB, commitB, ["--wheel-cache", cache]);
        assert.equal(builds(buildLog), before, "the warm build takes stamp from the kept resolution");
        assert.equal(installedFile(warm, "stamp/__init__.py"), 'GREETING = "hello"\n');
        assert.equal(resolutions().length, 1);

        // A commit that drops the dependency is resolved again: its venv has no stamp.
        const appC = path.join(scratch, "app-c");
        writeApp(appC, 3, backendLog, []);
        const repoC = path.join(scratch, "repo-c");
        const commitC = commitDirectory(appC, repoC, "2026-03-04T05:06:07Z");
        const dropped = build("resolve-dropped", repoC, commitC, ["--wheel-cache", cache]);
        assert.equal(installedFile(dropped, "holodeck_cached/__init__.py"), "REVISION = 3\n");
        assert.throws(() => installedFile(dropped, "stamp/__init__.py"), /ENOENT/);
        assert.equal(resolutions().length, 2);
    });

    it("refuses a --wheel-cache that is not a directory, before fetching anything", () => {
        const file = path.join(scratch, "not-a-dir");
        fs.writeFileSync(file, "");
        const result = runHolodeckBuild([
            "--repo", repoA, "--commit", commitA, "--out", path.join(scratch, "out-refused"),
            "--find-links", debianWheels, "--wheel-cache", file,
        ]);
        assert.equal(result.status, 2);
        assert.equal(result.stderr, `holodeck-build: error: --wheel-cache '${file}' exists and is not a directory\n`);
        assert.ok(!fs.existsSync(path.join(scratch, "out-refused")));
    });
});
