// HoloMaker for real: builds from real git commits, installs with dpkg, runs, asks over HTTP.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
    buildRelease,
    commitDirectory,
    debianWheels,
    fetchHealth,
    holodeckBuild,
    isInstalled,
    run,
    runHolodeckBuild,
    sampleAppDir,
    startService,
} from "../tools/localRelease";
import { holodeckBuildCommand, Manifest } from "../lib/holoMaker";
import { stackAppConfig } from "../tools/stackFiles";
import { renderConfigIni } from "../tools/saltRender";
import { stateDefaults } from "../lib/salt";

const python = "/usr/bin/python3";

function writeFiles(dir: string, files: Record<string, string>): void {
    for (const [file, content] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), content);
    }
}

function purge(pkg: string): void {
    run("dpkg", ["--purge", pkg]);
}

function userExists(user: string): boolean {
    return spawnSync("getent", ["passwd", user]).status === 0;
}

function debContents(deb: string): string[] {
    return run("sh", ["-c", 'dpkg-deb --fsys-tarfile "$1" | tar -t', "sh", deb]).trim().split("\n");
}

describe("holodeck-build", function () {
    let scratch: string;
    let sampleRepo: string;
    let sampleCommit: string;

    before(() => {
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-test-"));
        sampleRepo = path.join(scratch, "sample");
        sampleCommit = commitDirectory(sampleAppDir, sampleRepo);
    });
    after(() => fs.rmSync(scratch, { recursive: true, force: true }));

    describe("the sample app, with a systemd service", () => {
        const name = "holodeck-hello-test";
        const prefix = `/opt/venvs/${name}`;
        let manifest: Manifest;
        let deb: string;
        let stdoutLines: string[];

        before(() => {
            if (isInstalled(name)) purge(name);
            const out = path.join(scratch, "out-sample");
            const result = runHolodeckBuild([
                "--repo", sampleRepo, "--commit", sampleCommit, "--out", out, "--name", name,
                "--find-links", debianWheels, "--service", "holodeck-hello --host 127.0.0.1 --port 8000",
            ]);
            assert.equal(result.status, 0, result.stderr);
            stdoutLines = result.stdout.trim().split("\n");
            manifest = JSON.parse(fs.readFileSync(stdoutLines[stdoutLines.length - 1], "utf8"));
            deb = path.join(out, manifest.file);
        });
        after(() => {
            if (isInstalled(name)) purge(name);
        });

        it("writes a manifest that describes the .deb, and prints its path last", () => {
            const bytes = fs.readFileSync(deb);
            assert.equal(stdoutLines[stdoutLines.length - 1], `${deb}.json`);
            assert.equal(manifest.sha256, createHash("sha256").update(bytes).digest("hex"));
            assert.equal(manifest.size, bytes.length);
            assert.equal(manifest.commit, sampleCommit);
            assert.equal(manifest.commitTime, "2026-01-02T03:04:05Z");
            assert.equal(manifest.version, `1.0.0+git20260102.${sampleCommit.slice(0, 7)}`);
            assert.equal(manifest.file, `${name}_${manifest.version}_${manifest.architecture}.deb`);
            assert.equal(manifest.prefix, prefix);
            assert.match(manifest.python, /^3\.\d+\.\d+$/);
            assert.deepEqual(manifest.entryPoints, { "holodeck-hello": "holodeck_hello.server:main" });
            assert.equal(manifest.withPip, false);
        });

        it("has a control file with the version, pinned Python minor and the service user's tools", () => {
            const control = run("dpkg-deb", ["-f", deb, "Package", "Version", "Depends"]);
            const minor = manifest.python.split(".").slice(0, 2).join(".");
            const next = `3.${Number(minor.split(".")[1]) + 1}`;
            assert.equal(
                control,
                `Package: ${name}\nVersion: ${manifest.version}\nDepends: python3 (>= ${minor}), python3 (<< ${next}), passwd\n`,
            );
            assert.match(run("dpkg-deb", ["-I", deb]), /\bmd5sums\b/);
        });

        it("leaves pip, setuptools and wheel out of the runtime venv", () => {
            const sitePackages = debContents(deb).filter((entry) => entry.includes("/site-packages/"));
            assert.ok(sitePackages.some((entry) => entry.includes("/holodeck_hello/")), "the app itself is there");
            assert.deepEqual(
                sitePackages.filter((entry) => /\/site-packages\/(pip|setuptools|wheel|_distutils_hack)[/-]/.test(entry)),
                [],
            );
        });

        it("passes lintian with no errors or warnings", () => {
            const report = spawnSync("lintian", ["--fail-on", "error,warning", deb], { encoding: "utf8" });
            assert.equal(report.stdout.split("\n").filter((line) => /^[EW]: /.test(line)).join("\n"), "");
            assert.equal(report.status, 0, report.stdout + report.stderr);
        });

        it("installs with dpkg, answers /health as its own user, and purges without leftovers", async () => {
            run("dpkg", ["-i", deb]);
            assert.ok(userExists(name), "postinst creates the service user");
            const unitFile = `/lib/systemd/system/${name}.service`;
            const unit = fs.readFileSync(unitFile, "utf8");
            assert.match(unit, new RegExp(`^ExecStart=${prefix}/bin/holodeck-hello --host 127.0.0.1 --port 8000$`, "m"));
            assert.match(unit, new RegExp(`^User=${name}$`, "m"));
            const verify = spawnSync("systemd-analyze", ["verify", "--man=no", unitFile], { encoding: "utf8" });
            assert.equal(verify.status, 0, verify.stderr);
            const service = await startService("setpriv", [
                `--reuid=${name}`, `--regid=${name}`, "--init-groups", `${prefix}/bin/holodeck-hello`, "--port", "0",
            ]);
            try {
                assert.deepEqual(await fetchHealth(service.url), { status: "ok", version: "1.0.0" });
            } finally {
                await service.stop();
            }
            assert.match(unit, new RegExp(`^Environment=HOLODECK_CONFIG=${stateDefaults(name).config_file}$`, "m"));

            // The rehearsal of Salt's part: the config the holodeck state renders for the test
            // stack, next to the installed release, is what the app serves.
            const { greeting } = stackAppConfig("test");
            const configText = renderConfigIni({
                app: name, releaseId: "0123456789ab", version: manifest.version, sha256: manifest.sha256, url: "https://swift.invalid/x.deb",
                config: { greeting }, secrets: { api_token: "t0ps3cret" },
            });
            const configDir = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-config-"));
            fs.chmodSync(configDir, 0o755);
            const configFile = path.join(configDir, "config.ini");
            fs.writeFileSync(configFile, configText);
            fs.chownSync(configFile, 0, Number(run("id", ["-g", name]).trim()));
            fs.chmodSync(configFile, 0o640);
            const configured = await startService("setpriv", [
                `--reuid=${name}`, `--regid=${name}`, "--init-groups", `${prefix}/bin/holodeck-hello`, "--port", "0",
            ], { ...process.env, HOLODECK_CONFIG: configFile });
            try {
                const response = await fetch(`${configured.url}/`);
                assert.deepEqual(await response.json(), { message: greeting, version: "1.0.0" });
            } finally {
                await configured.stop();
                fs.rmSync(configDir, { recursive: true, force: true });
            }

            // Bytecode Python might write at run time is not in the package; prerm removes it.
            writeFiles(prefix, { "__pycache__/stray.cpython-311.pyc": "", "lib/__pycache__/stray.pyc": "" });
            purge(name);
            assert.equal(isInstalled(name), false);
            assert.equal(fs.existsSync(prefix), false, `${prefix} is gone`);
            assert.equal(fs.existsSync(`/lib/systemd/system/${name}.service`), false);
            assert.equal(fs.existsSync(`/usr/share/doc/${name}`), false);
            assert.equal(userExists(name), false, "purge removes the service user");
        });

        it("is bit-identical when rebuilt from a clone in another directory, by the program's command line", () => {
            const clone = path.join(scratch, "elsewhere", "clone");
            run("git", ["clone", "-q", sampleRepo, clone]);
            const command = holodeckBuildCommand({
                repo: clone, commit: sampleCommit, subdir: "", packageName: name, prefix: "", python,
                service: "holodeck-hello --host 127.0.0.1 --port 8000", indexUrl: "", findLinks: [debianWheels], withPip: false,
            }, holodeckBuild, path.join(scratch, "elsewhere", "out dir"));
            const manifestPath = run("bash", ["-c", command]).trim().split("\n").pop() ?? "";
            const rebuilt = JSON.parse(fs.readFileSync(manifestPath, "utf8")) as Manifest;
            assert.equal(rebuilt.sha256, manifest.sha256);
        });
    });

    describe("a setup.py project in a subdirectory, with a dependency and --with-pip", () => {
        let manifest: Manifest;
        let venv: string;

        before(() => {
            const library = path.join(scratch, "fixture-lib");
            writeFiles(library, {
                "pyproject.toml": '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
                    + '[project]\nname = "holodeck-fixture-lib"\nversion = "0.3.0"\n',
                "holodeck_fixture_lib/__init__.py": 'GREETING = "hello from a dependency"\n',
            });
            const wheelhouse = path.join(scratch, "wheelhouse");
            run(python, ["-m", "pip", "wheel", "--no-deps", "--no-index", "--find-links", debianWheels, "-w", wheelhouse, library], {
                env: { PATH: "/usr/bin:/bin", HOME: scratch, PIP_CONFIG_FILE: "/dev/null" },
            });
            const repo = path.join(scratch, "monorepo");
            fs.mkdirSync(repo);
            writeFiles(path.join(repo, "services", "greeter"), {
                "setup.py": "from setuptools import setup\n"
                    + "setup(name='greeter-svc', version='2.1.0rc1', py_modules=['greeter_svc'],\n"
                    + "      install_requires=['holodeck-fixture-lib'],\n"
                    + "      entry_points={'console_scripts': ['greeter = greeter_svc:main']})\n",
                "greeter_svc.py": "from holodeck_fixture_lib import GREETING\n\ndef main():\n    print(GREETING)\n",
            });
            const commit = commitDirectory(path.join(scratch, "monorepo"), path.join(scratch, "monorepo-git"));
            manifest = buildRelease([
                "--repo", path.join(scratch, "monorepo-git"), "--commit", commit, "--out", path.join(scratch, "out-greeter"),
                "--subdir", "services/greeter", "--name", "greeter", "--prefix", "/srv/greeter/venv", "--with-pip",
                "--find-links", wheelhouse, "--find-links", debianWheels,
            ]);
            const extracted = path.join(scratch, "greeter-root");
            run("dpkg-deb", ["-x", path.join(scratch, "out-greeter", manifest.file), extracted]);
            venv = path.join(extracted, "srv/greeter/venv");
        });

        it("turns the PEP 440 pre-release into a Debian version that sorts before 2.1.0", () => {
            assert.match(manifest.version, /^2\.1\.0~rc1\+git20260102\.[0-9a-f]{7}$/);
            run("dpkg", ["--compare-versions", manifest.version, "lt", "2.1.0"]);
            assert.equal(manifest.subdir, "services/greeter");
            assert.deepEqual(manifest.entryPoints, { greeter: "greeter_svc:main" });
        });

        it("puts the venv at the prefix, with the dependency and pip, setuptools and wheel", () => {
            assert.equal(manifest.prefix, "/srv/greeter/venv");
            assert.equal(manifest.withPip, true);
            const python = path.join(venv, "bin", "python");
            assert.equal(run(python, ["-c", "import setuptools, wheel, greeter_svc; greeter_svc.main()"]), "hello from a dependency\n");
            assert.match(run(python, ["-m", "pip", "--version"]), new RegExp(`^pip \\S+ from ${venv}/lib/`));
            assert.match(fs.readFileSync(path.join(venv, "bin", "greeter"), "utf8"), /^#!\/srv\/greeter\/venv\/bin\/python\n/);
        });
    });

    describe("refuses bad input with one clear error line, leaving nothing behind", () => {
        let attempt = 0;

        /** Runs the builder expecting a refusal (exit code 2 for bad arguments, 1 for a failed build); returns the error line. */
        function refusal(args: string[], options: { out?: string; command?: string; asUser?: string; exitCode?: number } = {}): string {
            attempt += 1;
            const out = options.out ?? path.join(scratch, `refused-${attempt}`);
            const tmp = path.join(scratch, `tmp-${attempt}`);
            fs.mkdirSync(out, { recursive: true });
            fs.mkdirSync(tmp);
            fs.chmodSync(tmp, 0o777);
            const command = options.command ?? holodeckBuild;
            const argv = [...args, "--out", out];
            const result = options.asUser
                ? runHolodeckBuild(["--reuid", options.asUser, "--regid", options.asUser, "--clear-groups", command, ...argv],
                    "pipe", { ...process.env, TMPDIR: tmp }, "setpriv")
                : runHolodeckBuild(argv, "pipe", { ...process.env, TMPDIR: tmp }, command);
            assert.equal(result.status, options.exitCode ?? 2, result.stderr);
            assert.equal(result.stdout, "");
            assert.deepEqual(fs.readdirSync(out), [], "DIR stays empty");
            assert.deepEqual(fs.readdirSync(tmp), [], "no scratch directory is left");
            const lines = result.stderr.trim().split("\n");
            const last = lines[lines.length - 1];
            assert.match(last, /^holodeck-build: error: \S/);
            return last;
        }
        const sources = ["--find-links", debianWheels];

        it("a short SHA", () => {
            assert.match(refusal(["--repo", sampleRepo, "--commit", sampleCommit.slice(0, 7)]),
                /--commit '[0-9a-f]{7}' is not a full 40-hex commit SHA: branches, tags and short SHAs are mutable or ambiguous/);
        });

        it("a branch name", () => {
            assert.match(refusal(["--repo", sampleRepo, "--commit", "main"]), /--commit 'main' is not a full 40-hex commit SHA.*git rev-parse 'main'/);
        });

        it("a missing repository directory", () => {
            assert.match(refusal(["--repo", path.join(scratch, "no-such-repo"), "--commit", sampleCommit]),
                /repository '.*no-such-repo' is unreachable: no such directory, and not a git URL/);
        });

        it("an unreachable repository URL", () => {
            assert.match(refusal(["--repo", `file://${scratch}/no-such-repo.git`, "--commit", sampleCommit, ...sources], { exitCode: 1 }),
                /repository 'file:\/\/.*no-such-repo.git' is unreachable/);
        });

        it("a commit the repository does not have", () => {
            const unknown = "0123456789abcdef0123456789abcdef01234567";
            assert.match(refusal(["--repo", sampleRepo, "--commit", unknown, ...sources], { exitCode: 1 }), new RegExp(`commit ${unknown} is not in '${sampleRepo}'`));
        });

        it("a commit without pyproject.toml or setup.py", () => {
            const repo = path.join(scratch, "not-python");
            fs.mkdirSync(repo);
            writeFiles(repo, { "README.md": "no Python here\n" });
            const commit = commitDirectory(repo, path.join(scratch, "not-python-git"));
            assert.match(refusal(["--repo", path.join(scratch, "not-python-git"), "--commit", commit, ...sources], { exitCode: 1 }),
                /no pyproject.toml or setup.py in the repository root at commit [0-9a-f]{12}: point --subdir at the Python project/);
        });

        it("a dependency no source has", () => {
            const repo = path.join(scratch, "missing-dep");
            writeFiles(repo, {
                "pyproject.toml": '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
                    + '[project]\nname = "needs-missing"\nversion = "1.0"\ndependencies = ["holodeck-no-such-library>=1"]\n',
                "needs_missing.py": "",
            });
            const commit = commitDirectory(repo, path.join(scratch, "missing-dep-git"));
            assert.match(refusal(["--repo", path.join(scratch, "missing-dep-git"), "--commit", commit, ...sources], { exitCode: 1 }),
                /cannot resolve the dependencies of needs-missing: Could not find a version that satisfies the requirement holodeck-no-such-library>=1/);
        });

        it("a project whose build fails", () => {
            const repo = path.join(scratch, "broken");
            writeFiles(repo, { "setup.py": "raise SystemExit('this project does not build')\n" });
            const commit = commitDirectory(repo, path.join(scratch, "broken-git"));
            assert.match(refusal(["--repo", path.join(scratch, "broken-git"), "--commit", commit, ...sources], { exitCode: 1 }),
                /^holodeck-build: error: building the project failed/);
        });

        it("a relative --prefix", () => {
            assert.match(refusal(["--repo", sampleRepo, "--commit", sampleCommit, "--prefix", "opt/venvs/x"]),
                /--prefix 'opt\/venvs\/x' is relative: give an absolute path under \/opt or \/srv/);
        });

        it("a --prefix outside /opt and /srv", () => {
            assert.match(refusal(["--repo", sampleRepo, "--commit", sampleCommit, "--prefix", "/usr/local/venvs/x"]),
                /--prefix '\/usr\/local\/venvs\/x' must be a normalised path below \/opt or \/srv/);
        });

        it("a --service that is not a console script of the project", () => {
            assert.match(refusal(["--repo", sampleRepo, "--commit", sampleCommit, ...sources, "--service", "gunicorn app:app"]),
                /--service 'gunicorn app:app': 'gunicorn' is not a console script of holodeck-hello \(it has: holodeck-hello\)/);
        });

        it("a user who is not root", () => {
            // A world-readable copy: the checkout itself may sit in a directory only root can enter.
            const shared = path.join(scratch, "shared");
            fs.mkdirSync(shared);
            fs.chmodSync(scratch, 0o755);
            fs.chmodSync(shared, 0o755);
            const builder = path.join(shared, "holodeck-build");
            fs.copyFileSync(holodeckBuild, builder);
            fs.chmodSync(builder, 0o755);
            const out = path.join(shared, "out");
            fs.mkdirSync(out);
            fs.chmodSync(out, 0o777);
            assert.match(refusal(["--repo", sampleRepo, "--commit", sampleCommit], { out, command: builder, asUser: "65534" }),
                /must run as root: the venv is built at its final path inside a private mount namespace/);
        });
    });
});
