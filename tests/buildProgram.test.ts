// The package index URL with a password, through the program under mocks: a secret from stack
// config to the build minion's stdin, and in no command line, resource input or output.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError, parseConfig, RawConfig } from "../config";
import { isSecretValue, OfflineRun, reveal, runOffline } from "../tools/offlineRun";
import { testConfig as programTestConfig } from "./programConfig";

const password = "Pa55-index-s3cret";
const indexUrl = `https://builder:${password}@pypi.example.com/simple/`;
const testConfig = { ...programTestConfig, "holodeck:pipIndexUrl": indexUrl };

describe("holodeck:pipIndexUrl with a password", function () {
    let run: OfflineRun;

    before(async () => {
        const program = (await import("../index")).default as () => Promise<Record<string, unknown>>;
        run = await runOffline(program, { project: "holodeck", stack: "test", config: testConfig });
    });

    it("is in no resource input or stack output but secret ones", () => {
        const shown = JSON.stringify({ resources: run.resources.map((resource) => reveal(resource.inputs, true)), outputs: reveal(run.outputs, true) });
        assert.equal(shown.includes(password), false);
        // And it is there, wrapped as a secret: the check above could fail.
        assert.equal(JSON.stringify(reveal(run.resources.map((resource) => resource.inputs))).includes(password), true);
    });

    it("reaches the build command on stdin, first, and holodeck-build through a pipe, never as an argument", () => {
        const build = run.resources.find((resource) => resource.name === "build-minion-build");
        assert.ok(build);
        assert.ok(isSecretValue(build.inputs.stdin));
        const stdin = String(reveal(build.inputs.stdin));
        // The URL's line, then the upload credential's two lines for holodeck-publish.
        assert.ok(stdin.startsWith(`${indexUrl}\n`));
        assert.equal(stdin.split("\n").length, 4);
        const script = String(reveal(build.inputs.create));
        assert.equal(script.includes(password), false);
        assert.match(script, / --index-url - /);

        // The script's lines up to the build, for real, with the minion's sudo standing in: it
        // records what holodeck-build gets; the rest of stdin is what holodeck-publish would read.
        const lines = script.split("\n");
        assert.match(lines[lines.length - 1], /^\/usr\/local\/bin\/holodeck-publish /);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-build-script-"));
        try {
            fs.writeFileSync(path.join(dir, "sudo"), [
                "#!/bin/bash",
                "[[ $1 == install ]] && exit 0",
                'printf "%s\\n" "$@" >"$CAPTURE/args"',
                'cat >"$CAPTURE/stdin"',
                "echo /var/lib/holodeck/releases/x.deb.json",
                "",
            ].join("\n"), { mode: 0o755 });
            const result = spawnSync("bash", ["-c", [...lines.slice(0, -1), 'cat >"$CAPTURE/rest"'].join("\n")], {
                input: stdin, encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, CAPTURE: dir, HOME: dir },
            });
            assert.equal(result.status, 0, result.stderr);
            const args = fs.readFileSync(path.join(dir, "args"), "utf8").split("\n");
            assert.equal(args[0], "/usr/local/bin/holodeck-build");
            assert.equal(args[args.indexOf("--index-url") + 1], "-");
            assert.equal(args.join("\n").includes(password), false);
            assert.equal(fs.readFileSync(path.join(dir, "stdin"), "utf8"), `${indexUrl}\n`);
            assert.equal(fs.readFileSync(path.join(dir, "rest"), "utf8"), stdin.split("\n").slice(1).join("\n"));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("has no index URL line on stdin when none is configured", async () => {
        const program = (await import("../index")).default as () => Promise<Record<string, unknown>>;
        const withoutIndex = Object.fromEntries(Object.entries(testConfig).filter(([key]) => key !== "holodeck:pipIndexUrl"));
        const plain = await runOffline(program, { project: "holodeck", stack: "test", config: withoutIndex });
        const build = plain.resources.find((resource) => resource.name === "build-minion-build");
        assert.ok(build);
        assert.equal(String(reveal(build.inputs.stdin)).split("\n").length, 3, "the credential's two lines");
        assert.doesNotMatch(String(reveal(build.inputs.create)), /--index-url|read -r/);
    });
});

describe("the package sources in stack config", () => {
    const valid: RawConfig = Object.fromEntries(Object.entries(testConfig).map(([key, value]) => [key.replace(/^holodeck:/, ""), value]));

    function problemsOf(raw: RawConfig): readonly string[] {
        try {
            parseConfig(raw);
        } catch (error) {
            assert.ok(error instanceof ConfigError, String(error));
            return error.problems;
        }
        return [];
    }

    it("keeps the index URL a secret, and shows it without credentials", async () => {
        const { release } = parseConfig(valid);
        assert.equal(release.kind, "build");
        if (release.kind !== "build") return;
        assert.equal(release.build.indexUrl, "https://pypi.example.com/simple/");
        const secret = release.indexUrl as unknown as { isSecret: Promise<boolean>; promise(): Promise<string> };
        assert.equal(await secret.isSecret, true);
        assert.equal(await secret.promise(), indexUrl);
    });

    it("names bad sources without their credentials", () => {
        const problems = problemsOf({ ...valid, pipFindLinks: `["/wheels", "https://wheels:${password}@wheels.example.com/"]` });
        assert.deepEqual(problems, [
            "holodeck:pipFindLinks 'https://[redacted]@wheels.example.com/' holds credentials, which would be in the build command: serve those wheels from the package index, "
            + "whose URL may carry them as a secret (`pulumi config set --secret holodeck:pipIndexUrl` with the user and password in the URL)",
        ]);
    });

    it("never shows a password of a malformed index URL", () => {
        const problems = problemsOf({ ...valid, pipIndexUrl: `https://builder:${password}@pypi.example.com/my simple/` });
        assert.deepEqual(problems, ["holodeck:pipIndexUrl 'https://[redacted]@pypi.example.com/my simple/' must be an http(s):// or file:// URL"]);
    });
});
