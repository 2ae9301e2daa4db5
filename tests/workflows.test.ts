// The GitHub workflows: they parse, give the actions they use only the inputs those document
// (tests/fixtures/actions, copied from each action's metadata), preview and deploy each stack on
// the right trigger, resolve the test stack's commit the way they say, and hard-code no secret.
import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, parseDocument } from "yaml";
import { repoRoot } from "../lib/paths";

interface Step {
    readonly id?: string;
    readonly name?: string;
    readonly uses?: string;
    readonly run?: string;
    readonly if?: string;
    readonly with?: Record<string, unknown>;
    readonly env?: Record<string, unknown>;
}
interface Job {
    readonly if?: string;
    readonly uses?: string;
    readonly with?: Record<string, unknown>;
    readonly secrets?: unknown;
    readonly strategy?: { readonly matrix?: Record<string, unknown[]> };
    readonly steps?: Step[];
}
interface Input {
    readonly required?: boolean;
    readonly default?: unknown;
}
interface Workflow {
    readonly name: string;
    readonly on: Record<string, { branches?: string[]; inputs?: Record<string, Input> } | null>;
    readonly permissions?: Record<string, string>;
    readonly jobs: Record<string, Job>;
}

const workflowsDir = path.join(repoRoot, ".github", "workflows");
const fixturesDir = path.join(repoRoot, "tests", "fixtures", "actions");
const reusable = "./.github/workflows/pulumi.yml";

function load(file: string): Workflow {
    const document = parseDocument(fs.readFileSync(path.join(workflowsDir, file), "utf8"));
    assert.deepEqual(document.errors.map(String), [], `${file} is valid YAML`);
    return document.toJS() as Workflow;
}

const files = fs.readdirSync(workflowsDir).filter((file) => /\.ya?ml$/.test(file)).sort();
const workflows = new Map(files.map((file) => [file, load(file)]));
const pulumiWorkflow = workflows.get("pulumi.yml")!;
const pulumiJob = Object.values(pulumiWorkflow.jobs)[0];
const pulumiStep = pulumiJob.steps!.find((step) => step.uses?.startsWith("pulumi/actions@"))!;

/** The values an expression such as `${{ matrix.stack }}` takes in `job`, or the literal itself. */
function values(job: Job, value: unknown): string[] {
    const matrix = /^\$\{\{\s*matrix\.(\w+)\s*\}\}$/.exec(String(value));
    return matrix ? (job.strategy?.matrix?.[matrix[1]] ?? []).map(String) : [String(value)];
}

/** Every use of the Pulumi workflow: its triggers, the stacks and the command, and the job's condition. */
const pulumiRuns = [...workflows].flatMap(([file, workflow]) => Object.values(workflow.jobs)
    .filter((job) => job.uses === reusable)
    .flatMap((job) => values(job, job.with?.stack).map((stack) => ({
        file, triggers: Object.keys(workflow.on).sort(), on: workflow.on, stack, command: String(job.with?.command), job,
    }))));

describe("the GitHub workflows", function () {
    it("are the preview, the two deploys and the Pulumi workflow they share, each named", () => {
        assert.deepEqual(files, ["deploy-prod.yml", "deploy-test.yml", "preview.yml", "pulumi.yml"]);
        for (const [file, workflow] of workflows) {
            assert.ok(workflow.name && workflow.on && Object.keys(workflow.jobs).length > 0, file);
        }
    });

    it("give each action only the inputs it documents, and each local workflow only the inputs it declares", () => {
        let checked = 0;
        for (const [file, workflow] of workflows) {
            for (const [jobName, job] of Object.entries(workflow.jobs)) {
                const given = (inputs: Record<string, Input>, withs: Record<string, unknown> | undefined, what: string) => {
                    const unknown = Object.keys(withs ?? {}).filter((key) => !(key in inputs));
                    assert.deepEqual(unknown, [], `${file} ${jobName}: ${what} has no such inputs`);
                    const missing = Object.entries(inputs).filter(([key, input]) => input.required === true && input.default === undefined && !(key in (withs ?? {})));
                    assert.deepEqual(missing.map(([key]) => key), [], `${file} ${jobName}: ${what} needs these inputs`);
                    checked += 1;
                };
                if (job.uses) {
                    assert.ok(job.uses.startsWith("./.github/workflows/"), `${file} ${jobName} calls only this repository's workflows`);
                    const called = workflows.get(path.basename(job.uses));
                    assert.ok(called?.on.workflow_call, `${job.uses} exists and is reusable`);
                    given(called.on.workflow_call.inputs ?? {}, job.with, job.uses);
                    assert.equal(job.secrets, "inherit", `${file} ${jobName} passes the repository's secrets on`);
                }
                for (const step of job.steps ?? []) {
                    if (!step.uses) continue;
                    const [action, ref] = step.uses.split("@");
                    const fixture = path.join(fixturesDir, action, ref, "action.yml");
                    assert.ok(fs.existsSync(fixture), `no documented inputs of ${step.uses}: add ${path.relative(repoRoot, fixture)} from its action.yml`);
                    given((parse(fs.readFileSync(fixture, "utf8")) as { inputs: Record<string, Input> }).inputs, step.with, step.uses);
                }
            }
        }
        assert.ok(checked >= 6, "the actions and calls were all checked");
    });

    it("read only step outputs that an earlier step of the same job writes", () => {
        for (const [file, workflow] of workflows) {
            for (const [jobName, job] of Object.entries(workflow.jobs)) {
                const seen = new Set<string>();
                for (const step of job.steps ?? []) {
                    for (const [, id] of JSON.stringify(step).matchAll(/steps\.([\w-]+)\.outputs/g)) {
                        assert.ok(seen.has(id), `${file} ${jobName}: step "${step.name ?? step.uses}" reads steps.${id} before any step has that id`);
                    }
                    if (step.id) seen.add(step.id);
                }
            }
        }
        assert.match(String(pulumiStep.with?.["config-map"]), /steps\.app-commit\.outputs\.config-map/);
    });

    it("preview both stacks on pull requests, with the policy pack, commenting on the pull request", () => {
        const previews = pulumiRuns.filter((run) => run.command === "preview");
        assert.deepEqual(previews.map((run) => run.stack).sort(), ["prod", "test"]);
        for (const run of previews) assert.deepEqual(run.triggers, ["pull_request"], run.file);
        assert.equal(workflows.get(previews[0].file)?.permissions?.["pull-requests"], "write", "the preview may comment");

        assert.equal(pulumiStep.with?.command, "${{ inputs.command }}");
        assert.equal(pulumiStep.with?.["stack-name"], "${{ inputs.stack }}");
        assert.equal(pulumiStep.with?.["comment-on-pr"], "${{ inputs.command == 'preview' }}");
        assert.equal(pulumiStep.with?.policyPacks, "policy");
        const pack = parse(fs.readFileSync(path.join(repoRoot, "policy", "PulumiPolicy.yaml"), "utf8")) as { runtime: string };
        assert.equal(pack.runtime, "nodejs", "policyPacks names the policy pack's directory");
    });

    it("update test on every push to main, and prod only by hand, from main", () => {
        const ups = pulumiRuns.filter((run) => run.command === "up");
        assert.deepEqual(ups.map((run) => run.stack).sort(), ["prod", "test"]);
        for (const run of ups) assert.ok(!run.triggers.includes("pull_request"), `${run.file}: a pull request never updates a stack`);
        const test = ups.find((run) => run.stack === "test")!;
        assert.ok(test.triggers.includes("push"), test.file);
        assert.deepEqual(test.on.push?.branches, ["main"]);
        const prod = ups.find((run) => run.stack === "prod")!;
        assert.deepEqual(prod.triggers, ["workflow_dispatch"], `${prod.file} runs on manual dispatch only`);
        assert.equal(prod.job.if, "github.ref == 'refs/heads/main'");
    });

    it("keep state in a self-managed backend, encrypted with the passphrase provider, on Node 20 with npm caching", () => {
        assert.equal(pulumiStep.with?.["cloud-url"], "${{ secrets.PULUMI_BACKEND_URL }}");
        assert.equal(pulumiStep.with?.["secrets-provider"], "passphrase");
        assert.equal(pulumiStep.env?.PULUMI_CONFIG_PASSPHRASE, "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");
        assert.equal(pulumiStep.env?.OS_PASSWORD, "${{ secrets.OS_PASSWORD }}", "the OpenStack provider's password");
        const setupNode = pulumiJob.steps!.find((step) => step.uses?.startsWith("actions/setup-node@"));
        assert.deepEqual(setupNode?.with, { "node-version": 20, cache: "npm" });
        const steps = pulumiJob.steps!.map((step) => step.uses ?? step.run ?? step.name);
        assert.ok(steps.indexOf("npm ci") < steps.indexOf(pulumiStep.uses), "dependencies (the policy pack's too) before Pulumi runs");
    });

    it("hard-code no secret, and pass untrusted inputs to scripts only through the environment", () => {
        const sensitive = /PASSWORD|PASSPHRASE|SECRET(?!S-PROVIDER)|TOKEN|ACCESS_KEY|^cloud-url$/i;
        for (const [file, workflow] of workflows) {
            const text = fs.readFileSync(path.join(workflowsDir, file), "utf8");
            assert.doesNotMatch(text, /-----BEGIN|AKIA[0-9A-Z]{16}|:\/\/[^/\s:]+:[^@\s]+@/, `${file} holds no key, access key or URL credentials`);
            for (const job of Object.values(workflow.jobs)) {
                for (const step of job.steps ?? []) {
                    for (const [key, value] of [...Object.entries(step.env ?? {}), ...Object.entries(step.with ?? {})]) {
                        if (sensitive.test(key)) assert.match(String(value), /^\$\{\{ secrets\.[A-Z0-9_]+ \}\}$/, `${file}: ${key} comes from a secret`);
                    }
                    assert.doesNotMatch(step.run ?? "", /\$\{\{/, `${file}: step "${step.name}" interpolates no expression into its script`);
                }
            }
        }
    });

    it("document every secret and variable they read in the README's Code review section", () => {
        const readme = fs.readFileSync(path.join(repoRoot, "README.md"), "utf8");
        const doc = readme.slice(readme.indexOf("## Code review"), readme.indexOf("\n## ", readme.indexOf("## Code review") + 1));
        const read = new Set(files.flatMap((file) =>
            [...fs.readFileSync(path.join(workflowsDir, file), "utf8").matchAll(/\b(secrets|vars)\.([A-Z0-9_]+)/g)].map(([, , name]) => name)));
        assert.ok(read.size >= 5);
        for (const name of read) assert.match(doc, new RegExp(`\`${name}\``), `the README's Code review section documents ${name}`);
    });

    describe("the test stack's commit", () => {
        const step = pulumiJob.steps!.find((candidate) => candidate.id === "app-commit")!;
        let dir: string;
        let app: string;
        let appHead: string;
        let branchHead: string;
        const git = (...args: string[]) => execFileSync("git", ["-C", app, ...args], {
            encoding: "utf8", env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.com", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.com" },
        }).trim();

        before(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-workflow-"));
            app = path.join(dir, "app");
            fs.mkdirSync(app);
            git("init", "-q", "-b", "main");
            git("commit", "-q", "--allow-empty", "-m", "first");
            appHead = git("rev-parse", "HEAD");
            git("checkout", "-q", "-b", "release");
            git("commit", "-q", "--allow-empty", "-m", "second");
            branchHead = git("rev-parse", "HEAD");
            git("checkout", "-q", "main");
        });
        after(() => fs.rmSync(dir, { recursive: true, force: true }));

        /** Runs the step's script as GitHub's bash shell does, in a checkout whose Pulumi.test.yaml pins `pinned`. */
        function resolve(env: { REQUESTED?: string; APP_REF?: string }, pinned = "0000000000000000000000000000000000000000") {
            const work = fs.mkdtempSync(path.join(dir, "work-"));
            fs.writeFileSync(path.join(work, "Pulumi.test.yaml"), `config:\n  holodeck:appRepo: ${app}\n  holodeck:commit: "${pinned}"\n`);
            const script = path.join(work, "step.sh");
            fs.writeFileSync(script, step.run!);
            const output = path.join(work, "github-output");
            fs.writeFileSync(output, "");
            const result = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", script], {
                cwd: work, encoding: "utf8",
                env: { ...process.env, REQUESTED: "", APP_REF: "HEAD", ...env, GITHUB_OUTPUT: output, NODE_PATH: path.join(repoRoot, "node_modules") },
            });
            const line = fs.readFileSync(output, "utf8").split("\n").find((entry) => entry.startsWith("config-map="));
            return { status: result.status, stdout: result.stdout, configMap: line ? JSON.parse(line.slice("config-map=".length)) as unknown : undefined };
        }

        it("is resolved for the test stack only, from the dispatch input and vars.APP_REF through the environment", () => {
            assert.equal(step.if, "inputs.stack == 'test'");
            assert.deepEqual(step.env, { REQUESTED: "${{ inputs.commit }}", APP_REF: "${{ vars.APP_REF || 'HEAD' }}" });
        });

        const expected = (commit: string) => ({ "holodeck:commit": { value: commit, secret: false } });

        it("takes an explicit commit first", () => {
            const commit = "3f786850e387550fdab836ed7e6dc881de23001b";
            assert.deepEqual(resolve({ REQUESTED: commit }, appHead).configMap, expected(commit));
        });

        it("then a real pin in Pulumi.test.yaml", () => {
            assert.deepEqual(resolve({}, branchHead).configMap, expected(branchHead));
        });

        it("then the head of the app repository's ref, past the stack file's placeholder", () => {
            assert.deepEqual(resolve({}).configMap, expected(appHead));
            assert.deepEqual(resolve({ APP_REF: "release" }).configMap, expected(branchHead));
        });

        it("refuses anything but a full commit SHA", () => {
            const result = resolve({ REQUESTED: "main" });
            assert.equal(result.status, 1);
            assert.match(result.stdout, /::error::no full commit SHA for the test stack \(got 'main'\)/);
            assert.equal(result.configMap, undefined);
            assert.equal(resolve({ APP_REF: "no-such-branch" }).status, 1);
        });
    });
});
