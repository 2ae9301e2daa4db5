// A stack of the program on the docker substrate under the real engine, for the live suites: its
// own scratch backend, a git repository of the sample app to commit releases in, its own stack name
// and network (so suites run beside each other and beside a `npm run demo` stack), and a look at
// its containers from the Docker engine.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { stackLabel } from "../components/docker";
import { releaseHeader } from "../lib/balancerServer";
import { repoRoot } from "../lib/paths";
import { dockerClient, dockerUnavailable } from "../tools/docker";
import { commitDirectory, Finished, run, sampleAppDir, sampleGitEnv } from "../tools/localRelease";
import { inside, serverImage } from "../tools/serverContainer";
import { Workspace } from "./realEngine";

/** An answer through the balancer or from a server. */
export interface Answer {
    readonly status: number;
    readonly body: string;
    /** The balancer's release header ("" from a server). */
    readonly release: string;
}

export function get(url: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
        const request = http.get(url, { agent: false, timeout: 5_000 }, (response) => {
            let body = "";
            response.setEncoding("utf8");
            response.on("data", (chunk: string) => (body += chunk));
            response.on("end", () => resolve({ status: response.statusCode ?? 0, body, release: String(response.headers[releaseHeader.toLowerCase()] ?? "") }));
        });
        request.on("timeout", () => request.destroy(new Error(`no answer from ${url} within 5 s`)));
        request.on("error", reject);
    });
}

/** The sample app's pyproject.toml edited to another version. */
export const sampleVersion = (next: string) => (text: string) => text.replace(/^version = "1\.0\.0"$/m, `version = "${next}"`);

/**
 * Commits, on branch `branch` made from `base`, the sample's files changed by `edits` (file ->
 * new text from old), with a fixed author and date (the same change always gives the same commit).
 */
export function commitChange(repo: string, base: string, branch: string, edits: Readonly<Record<string, (text: string) => string>>): string {
    run("git", ["checkout", "-q", "-b", branch, base], { cwd: repo });
    for (const [file, edit] of Object.entries(edits)) {
        const full = path.join(repo, file);
        const before = fs.readFileSync(full, "utf8");
        const after = edit(before);
        assert.notEqual(after, before, `the edit of ${file} for ${branch} changed nothing`);
        fs.writeFileSync(full, after);
    }
    run("git", ["commit", "-q", "-am", branch], { cwd: repo, env: sampleGitEnv("2026-01-03T03:04:05Z") });
    return run("git", ["rev-parse", "HEAD"], { cwd: repo }).trim();
}

/** A resource of `pulumi stack export`, the parts read here. */
export interface DeployedResource {
    readonly urn: string;
    readonly delete?: boolean;
}

/**
 * The config of shipped stack file `stackFile` with `settings` over it, at `commit` of `repo`
 * (a promoting stack's pin: it has no repository).
 */
function shippedConfig(stackFile: string, settings: Readonly<Record<string, unknown>>, repo: string, commit: string): Record<string, unknown> {
    const shipped = parse(fs.readFileSync(path.join(repoRoot, stackFile), "utf8")).config as Record<string, unknown>;
    const builds = shipped["holodeck:artifactSource"] !== "promote";
    return { ...shipped, ...(builds ? { "holodeck:appRepo": repo } : {}), "holodeck:commit": commit, ...settings };
}

function assertNoContainers(stack: string): void {
    const left = LiveStack.containersOf(stack, true);
    assert.deepEqual(left, [], `containers of a stack "${stack}" are left from an earlier run: remove them (${dockerClient} rm -f ${left.map((line) => line.split(" ")[1]).join(" ")})`);
}

export class LiveStack {
    private constructor(
        readonly workspace: Workspace,
        readonly project: string,
        readonly stack: string,
        /** The shipped stack file this stack's config starts from. */
        private readonly stackFile: string,
        private readonly settings: Readonly<Record<string, unknown>>,
        /** A git repository of the sample app. */
        readonly repo: string,
        /** The sample app's first commit in `repo`. */
        readonly commitA: string,
        /** Whether the workspace and repository are this stack's own, to remove with it. */
        private readonly owner: boolean,
    ) {}

    /**
     * Stack `stack` of the program on `networkCidr`, configured as the shipped Pulumi.local.yaml
     * with `settings` over it, at the sample's first commit. Fails, saying why, where no Docker
     * engine answers or the stack's containers are left from an earlier run.
     */
    static async create(stack: string, networkCidr: string, settings: Readonly<Record<string, unknown>> = {}): Promise<LiveStack> {
        const unavailable = dockerUnavailable();
        // Never skipped where Docker runs; without it, this fails and says why.
        if (unavailable) throw new Error(unavailable);
        await serverImage();
        assertNoContainers(stack);
        const workspace = new Workspace();
        const repo = fs.mkdtempSync(path.join(os.tmpdir(), `holodeck-${stack}-repo-`));
        const commitA = commitDirectory(sampleAppDir, repo);
        const all = { ...settings, "holodeck:networkCidr": networkCidr };
        const project = await workspace.project("holodeck", repoRoot, { [stack]: shippedConfig("Pulumi.local.yaml", all, repo, commitA) });
        return new LiveStack(workspace, project, stack, "Pulumi.local.yaml", all, repo, commitA, true);
    }

    /**
     * Stack `stack` on `networkCidr` in this stack's project and backend, configured as the shipped
     * Pulumi.local-prod.yaml with `settings` over it: it promotes what this stack verified,
     * through a real StackReference.
     */
    async promoter(stack: string, networkCidr: string, settings: Readonly<Record<string, unknown>> = {}): Promise<LiveStack> {
        assertNoContainers(stack);
        const all = { "holodeck:promoteFrom": `organization/holodeck/${this.stack}`, ...settings, "holodeck:networkCidr": networkCidr };
        await this.workspace.addStack(this.project, stack, shippedConfig("Pulumi.local-prod.yaml", all, this.repo, ""));
        return new LiveStack(this.workspace, this.project, stack, "Pulumi.local-prod.yaml", all, this.repo, this.commitA, false);
    }

    /** The stack's config at `commit`: its shipped stack file's, this stack's settings and `more` over it. */
    config(commit: string, more: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
        return shippedConfig(this.stackFile, { ...this.settings, ...more }, this.repo, commit);
    }

    /** Sets the stack's config to config(commit, more). */
    configure(commit: string, more: Readonly<Record<string, unknown>> = {}): void {
        this.workspace.configure(this.project, this.stack, this.config(commit, more));
    }

    /** `pulumi ARGS --stack STACK`, whatever its exit status. */
    pulumi(...args: string[]): Promise<Finished> {
        return this.workspace.pulumi(this.project, ...args, "--stack", this.stack);
    }

    /** Like pulumi(), but throws with the CLI's output unless it succeeds. */
    pulumiOk(...args: string[]): Promise<string> {
        return this.workspace.pulumiOk(this.project, ...args, "--stack", this.stack);
    }

    async outputs(): Promise<Record<string, unknown>> {
        return JSON.parse(await this.pulumiOk("stack", "output", "--json", "--show-secrets")) as Record<string, unknown>;
    }

    async deployment(): Promise<{ pending_operations?: unknown[]; resources: DeployedResource[] }> {
        return (JSON.parse(await this.pulumiOk("stack", "export")) as { deployment: { pending_operations?: unknown[]; resources: DeployedResource[] } }).deployment;
    }

    /** The stack's containers as "id name", by name (`all`: stopped ones too). */
    containers(all = false): string[] {
        return LiveStack.containersOf(this.stack, all);
    }

    /** The names of the stack's running containers whose name matches `pattern`. */
    named(pattern: RegExp): string[] {
        return this.containers().map((line) => line.split(" ")[1]).filter((name) => pattern.test(name));
    }

    /** The stack's running app servers as "id name": a replaced server is a new id. */
    appServers(): string[] {
        return this.containers().filter((line) => /^app-\d+-/.test(line.split(" ")[1]));
    }

    master(): string {
        return this.named(/^salt-master-/)[0];
    }

    /** The Salt master's keys by status, as `salt-key --list all` gives them. */
    async masterKeys(): Promise<Record<string, string[]>> {
        return JSON.parse(await inside(this.master(), "salt-key", "--list", "all", "--out", "json")) as Record<string, string[]>;
    }

    networks(): string {
        return run(dockerClient, ["network", "ls", "--filter", `label=${stackLabel}=${this.stack}`, "--quiet"]).trim();
    }

    /** Destroys whatever of the stack is left, then its workspace and repository if they are its own. */
    async remove(): Promise<void> {
        if (this.containers(true).length > 0) await this.pulumi("destroy", "--yes", "--skip-preview");
        if (!this.owner) return;
        this.workspace.remove();
        fs.rmSync(this.repo, { recursive: true, force: true });
    }

    static containersOf(stack: string, all: boolean): string[] {
        return run(dockerClient, ["ps", ...(all ? ["--all"] : []), "--no-trunc", "--filter", `label=${stackLabel}=${stack}`, "--format", "{{.ID}} {{.Names}}"])
            .trim().split("\n").filter(Boolean).sort((a, b) => a.split(" ")[1].localeCompare(b.split(" ")[1]));
    }
}
