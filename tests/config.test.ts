// Stack configuration: every bad value is named with its key and its fix, all at once.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { ConfigError, parseConfig, RawConfig } from "../config";

const root = path.resolve(__dirname, "..");
const commit = "3f786850e387550fdab836ed7e6dc881de23001b";
const valid: RawConfig = { appRepo: "https://git.example.com/org/app.git", commit };

function problemsOf(raw: RawConfig): readonly string[] {
    try {
        parseConfig(raw);
    } catch (error) {
        assert.ok(error instanceof ConfigError, String(error));
        return error.problems;
    }
    assert.fail("parseConfig accepted the configuration");
}

describe("stack configuration", () => {
    it("applies defaults to a minimal configuration", () => {
        assert.deepEqual(parseConfig(valid).build, {
            repo: "https://git.example.com/org/app.git", commit, subdir: "", packageName: "", prefix: "",
            python: "/usr/bin/python3", service: "", indexUrl: "", findLinks: [], withPip: false,
        });
    });

    it("accepts ssh URLs, upper-case SHAs, lists and booleans", () => {
        const { build } = parseConfig({
            appRepo: "git@git.example.com:org/app.git", commit: commit.toUpperCase(), pipFindLinks: '["https://wheels.example.com/"]',
            withPip: "true", venvPrefix: "/srv/app/venv", appService: "app --port 8000",
        });
        assert.equal(build.commit, commit);
        assert.deepEqual(build.findLinks, ["https://wheels.example.com/"]);
        assert.equal(build.withPip, true);
    });

    const cases: [string, RawConfig, RegExp][] = [
        ["a missing repository", { commit }, /^holodeck:appRepo is required: set it with `pulumi config set holodeck:appRepo/],
        ["a repository path instead of a URL", { ...valid, appRepo: "/srv/git/app" }, /^holodeck:appRepo '\/srv\/git\/app' is not an https or ssh git URL/],
        ["a missing commit", { appRepo: valid.appRepo }, /^holodeck:commit is required: set it to the full SHA/],
        ["a branch", { ...valid, commit: "main" }, /^holodeck:commit 'main' is not a full 40-hex commit SHA: branches, tags and short SHAs/],
        ["a short SHA", { ...valid, commit: commit.slice(0, 7) }, /^holodeck:commit '3f78685' is not a full 40-hex commit SHA/],
        ["the placeholder commit", { ...valid, commit: "0".repeat(40) }, /^holodeck:commit is still the placeholder of the stack file/],
        ["an absolute subdir", { ...valid, appSubdir: "/app" }, /^holodeck:appSubdir '\/app' must be a relative path/],
        ["a subdir escaping the repository", { ...valid, appSubdir: "a/../../b" }, /^holodeck:appSubdir 'a\/..\/..\/b' must be a relative path inside the repository, without '..'/],
        ["an invalid package name", { ...valid, appName: "My_App" }, /^holodeck:appName 'My_App' is not a valid Debian package name/],
        ["a prefix outside /opt and /srv", { ...valid, venvPrefix: "/usr/local/app" }, /^holodeck:venvPrefix '\/usr\/local\/app' must be an absolute, normalised path below \/opt or \/srv/],
        ["a relative interpreter", { ...valid, python: "python3" }, /^holodeck:python 'python3' must be the absolute path/],
        ["a multi-line service", { ...valid, appService: "app\n--port 1" }, /^holodeck:appService [\s\S]* must start with the name of a console script/],
        ["an index that is not a URL", { ...valid, pipIndexUrl: "pypi.org/simple" }, /^holodeck:pipIndexUrl 'pypi.org\/simple' must be an http\(s\):\/\/ or file:\/\/ URL/],
        ["find-links that are not a list", { ...valid, pipFindLinks: "/wheels" }, /^holodeck:pipFindLinks '\/wheels' must be a list of wheel directories or URLs/],
        ["a withPip that is not a boolean", { ...valid, withPip: "yes" }, /^holodeck:withPip 'yes' must be true or false/],
    ];
    for (const [what, raw, message] of cases) {
        it(`refuses ${what}`, () => {
            const problems = problemsOf(raw);
            assert.equal(problems.length, 1, problems.join("\n"));
            assert.match(problems[0], message);
        });
    }

    it("reports every problem at once", () => {
        assert.deepEqual(problemsOf({ commit: "main", withPip: "maybe" }).map((problem) => problem.split(" ")[0]), [
            "holodeck:appRepo", "holodeck:commit", "holodeck:withPip",
        ]);
    });

    describe("project and stack files", () => {
        const project = parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"));

        it("declares every key the program reads, with a type, a description and a default", () => {
            const declared = project.config as Record<string, { type: string; description: string; default: unknown }>;
            const read = Object.keys(parseConfig(valid).build).length;
            assert.equal(Object.keys(declared).length, read);
            for (const [key, schema] of Object.entries(declared)) {
                assert.ok(["string", "integer", "boolean", "array"].includes(schema.type), `${key} has a type`);
                assert.ok(schema.description.length > 20, `${key} has a description`);
                assert.ok("default" in schema, `${key} has a default`);
            }
        });

        for (const stack of ["test", "prod"]) {
            it(`Pulumi.${stack}.yaml is valid once its placeholder commit is replaced`, () => {
                const settings = parse(fs.readFileSync(path.join(root, `Pulumi.${stack}.yaml`), "utf8")).config as Record<string, string>;
                const raw = Object.fromEntries(Object.entries(settings).map(([key, value]) => [key.replace(/^holodeck:/, ""), String(value)]));
                assert.match(problemsOf(raw).join("\n"), /^holodeck:commit is still the placeholder/);
                assert.equal(parseConfig({ ...raw, commit }).build.repo, settings["holodeck:appRepo"]);
            });
        }
    });
});
