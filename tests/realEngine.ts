// The real Pulumi engine for tests: the CLI, language host and plugins scripts/engine.sh builds
// (cached outside the checkout), run offline on a file backend of the test's own.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { Finished, runAsync } from "../tools/localRelease";
import { repoRoot } from "../lib/paths";

let bin: string | undefined;

/** The engine's bin directory, built first if need be (minutes, once per machine). */
export function engineBin(): string {
    if (!bin) {
        const built = spawnSync("bash", [path.join(repoRoot, "scripts", "engine.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        if (built.status !== 0) throw new Error(`scripts/engine.sh failed (${built.status ?? built.signal}):\n${built.stderr}`);
        bin = built.stdout.trim().split("\n").pop()!;
    }
    return bin;
}

/** The binary of resource plugin `name` as scripts/engine.sh installed it (under the version the SDK asks for). */
export function installedPlugin(name: string): string {
    const plugins = path.join(path.dirname(engineBin()), "home", "plugins");
    const dir = fs.readdirSync(plugins).find((entry) => entry.startsWith(`resource-${name}-v`));
    if (!dir) throw new Error(`scripts/engine.sh installed no ${name} plugin in ${plugins}`);
    return path.join(plugins, dir, `pulumi-resource-${name}`);
}

/** A scratch directory with a file backend and a passphrase, where projects run the real CLI. */
export class Workspace {
    readonly root = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-engine-"));
    private readonly env: NodeJS.ProcessEnv;

    constructor() {
        const engine = engineBin();
        const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("PULUMI_")));
        fs.mkdirSync(path.join(this.root, "state"));
        this.env = {
            ...inherited,
            PATH: `${engine}:${process.env.PATH}`,
            PULUMI_HOME: path.join(path.dirname(engine), "home"),
            PULUMI_BACKEND_URL: `file://${path.join(this.root, "state")}`,
            PULUMI_CONFIG_PASSPHRASE: "holodeck tests",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            // `npm run lint` typechecks the program; type-checking it again in every run costs ~30 s.
            PULUMI_NODEJS_TRANSPILE_ONLY: "true",
        };
    }

    /** Runs `pulumi ARGS` in `project`, whatever its exit status. */
    pulumi(project: string, ...args: string[]): Promise<Finished> {
        return runAsync("pulumi", ["--non-interactive", "--color=never", ...args], { cwd: project, env: this.env });
    }

    /** Like pulumi(), but throws with the CLI's output unless it succeeds. */
    async pulumiOk(project: string, ...args: string[]): Promise<string> {
        const done = await this.pulumi(project, ...args);
        if (done.status !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${done.status}:\n${done.stdout}${done.stderr}`);
        return done.stdout;
    }

    /**
     * A project directory `name` that runs the program in `source` (a directory with index.ts and
     * Pulumi.yaml) with the repository's node_modules (unless `nodeModules` is false), and a stack
     * of it per entry of `stacks` (its config), created in the backend.
     */
    async project(
        name: string, source: string, stacks: Readonly<Record<string, Readonly<Record<string, unknown>>>>, options: { nodeModules?: boolean } = {},
    ): Promise<string> {
        const dir = path.join(this.root, name);
        fs.mkdirSync(dir);
        fs.copyFileSync(path.join(source, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
        // Links, not copies: node resolves the program's imports from its real path in the checkout.
        for (const entry of ["index.ts", "package.json", "tsconfig.json"]) {
            const file = fs.existsSync(path.join(source, entry)) ? path.join(source, entry) : path.join(repoRoot, entry);
            fs.symlinkSync(file, path.join(dir, entry));
        }
        if (options.nodeModules ?? true) fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(dir, "node_modules"));
        for (const [stack, config] of Object.entries(stacks)) await this.addStack(dir, stack, config);
        return dir;
    }

    /** Creates stack `stack` of `project` in the backend, with `config`. */
    async addStack(project: string, stack: string, config: Readonly<Record<string, unknown>>): Promise<void> {
        fs.writeFileSync(path.join(project, `Pulumi.${stack}.yaml`), stringify({ config }));
        await this.pulumiOk(project, "stack", "init", stack);
    }

    /** Replaces a stack's configuration (the file the CLI reads for it). */
    configure(project: string, stack: string, config: Readonly<Record<string, unknown>>): void {
        const file = path.join(project, `Pulumi.${stack}.yaml`);
        const salt = /^encryptionsalt: .*$/m.exec(fs.readFileSync(file, "utf8"))?.[0];
        fs.writeFileSync(file, `${salt ? `${salt}\n` : ""}${stringify({ config })}`);
    }

    remove(): void {
        fs.rmSync(this.root, { recursive: true, force: true });
    }
}

/** What `pulumi up --json` prints, one JSON object a line (the parts read here). */
export interface EngineEvent {
    readonly sequence: number;
    /** Unix time, whole seconds. */
    readonly timestamp: number;
    readonly resourcePreEvent?: { readonly metadata: { readonly urn: string; readonly op: string } };
    readonly resOutputsEvent?: { readonly metadata: { readonly urn: string; readonly op: string } };
}

/** A step of `pulumi preview --json`: its op, "type::name" and the inputs it would send. */
export interface PreviewStep {
    op: string;
    resource: string;
    inputs: Record<string, unknown>;
}

/** The steps a `pulumi preview --json` reports, the stack itself left out. */
export function previewSteps(previewJson: string): PreviewStep[] {
    const preview = JSON.parse(previewJson) as { steps?: { op: string; urn: string; newState?: { inputs?: Record<string, unknown> } }[] };
    return (preview.steps ?? []).map((step) => {
        const [, , qualifiedType, name] = step.urn.split("::");
        return { op: step.op, resource: `${qualifiedType.split("$").pop()}::${name}`, inputs: step.newState?.inputs ?? {} };
    }).filter((step) => !step.resource.startsWith("pulumi:pulumi:Stack::"));
}

/** Asserts a failed CLI run shows `message` as Pulumi's error, with no stack trace and no unhandled exception. */
export function assertReportedError(run: Finished, message: string): void {
    const output = `${run.stdout}${run.stderr}`;
    assert.notEqual(run.status, 0, output);
    for (const line of message.split("\n")) assert.ok(output.includes(line), `missing "${line}" in:\n${output}`);
    assert.doesNotMatch(output, /unhandled exception|^\s+at .+:\d+:\d+\)?$/m, output);
}

