import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { RunReport } from "../checker/run";
import { reportedOn } from "../lib/errors";
import { ShippedFile } from "../lib/repoFiles";
import { heredoc, shellQuote } from "../lib/shell";
import { SaltMaster } from "./saltMaster";

/** Inputs of {@link checkScript}. */
export interface CheckScriptArgs {
    /** Path of the bundled holodeck-check on the master. */
    readonly runner: string;
    /** The check file's text. */
    readonly spec: string;
    /** Values of its {{NAME}} placeholders. */
    readonly variables: Readonly<Record<string, string>>;
    /** Base URLs to check. */
    readonly targets: readonly string[];
}

/**
 * The shell script the master runs: Debian's Node.js if it is missing (a master made before
 * checks existed; apt's locks waited for), the check file in by heredoc, holodeck-check with the
 * JSON report on stdout and its table on stderr. It exits 1 when a check fails, which fails the
 * update.
 */
export function checkScript(args: CheckScriptArgs): string {
    const flags = [
        ...Object.entries(args.variables).flatMap(([name, value]) => ["--var", `${name}=${value}`]),
        ...args.targets.flatMap((target) => ["--target", target]),
        "--json", "-",
    ];
    return [
        "set -euo pipefail",
        "if ! command -v node >/dev/null; then",
        "  echo 'functional checks: installing Node.js from the distribution' >&2",
        // A fresh cloud server's apt-daily may hold apt's locks; DPkg::Lock::Timeout waits for
        // dpkg's, but apt-get update fails at once on the lists' lock.
        "  for attempt in $(seq 12); do",
        "    sudo apt-get update -q >&2 && break",
        "    ((attempt < 12)) || { echo 'functional checks: apt-get update failed 12 times' >&2; exit 1; }",
        "    echo 'functional checks: apt-get update failed (another apt run holding its lock?); trying again in 10 s' >&2",
        "    sleep 10",
        "  done",
        "  sudo DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q nodejs >&2",
        "fi",
        "node -e 'process.exit(Number(process.versions.node.split(\".\")[0]) >= 18 ? 0 : 1)' ||",
        "  { echo \"functional checks: holodeck-check needs Node.js 18 or later; this server has $(node --version)\" >&2; exit 1; }",
        "spec=$(mktemp)",
        "trap 'rm -f \"$spec\"' EXIT",
        heredoc('cat >"$spec"', args.spec, "HOLODECK_CHECKS_EOF", "the check file"),
        // Node 18 announces fetch as experimental on every run: not news to the reader of the table.
        `NODE_NO_WARNINGS=1 node ${shellQuote(args.runner)} --spec "$spec" ${flags.map(shellQuote).join(" ")}`,
    ].join("\n");
}

/** Parses the JSON report holodeck-check printed. */
export function parseReport(stdout: string): RunReport {
    let report: Partial<RunReport> = {};
    try {
        report = JSON.parse(stdout) as RunReport;
    } catch {
        // Reported below with the text itself.
    }
    if (typeof report.passed !== "boolean" || typeof report.checks !== "number" || typeof report.failures !== "number") {
        throw new Error(`holodeck-check printed no report: ${stdout.slice(0, 300)}`);
    }
    return report as RunReport;
}

export interface FunctionalChecksArgs {
    /** The Salt master: the checks run there, inside the network; a replaced master gets the runner anew. */
    readonly master: SaltMaster;
    /** The bundled holodeck-check (`checkerRunner`). */
    readonly runner: ShippedFile;
    /** The check file's text (config.ts has validated it). */
    readonly spec: string;
    /** Values of its placeholders (VERSION: what the release's /health reports). */
    readonly variables: pulumi.Input<Record<string, string>>;
    /** The release: a new one is checked anew. */
    readonly releaseId: pulumi.Input<string>;
}

/** What the checks of a release found, over every run. */
export interface Verdict {
    readonly passed: boolean;
    /** (check, target) pairs run. */
    readonly checks: number;
    /** Pairs that failed. */
    readonly failures: number;
    /** When the last run finished (ISO 8601). */
    readonly at: string;
}

/**
 * The functional HTTP checks of a release (checker/), run on the Salt master against the new
 * servers and, once it serves them, the load balancer. A failing check fails the update, so the
 * old generation keeps serving; the verdict of the passing runs is the stack's `verification`.
 */
export class FunctionalChecks extends pulumi.ComponentResource {
    private readonly name: string;
    private readonly args: FunctionalChecksArgs;
    private readonly runnerPath: string;
    private readonly runner: command.remote.CopyToRemote;
    private readonly reports: pulumi.Output<RunReport>[] = [];

    constructor(name: string, args: FunctionalChecksArgs, opts?: pulumi.ComponentResourceOptions) {
        super("holodeck:index:FunctionalChecks", name, {}, opts);
        this.name = name;
        this.args = args;
        this.runnerPath = `/home/${args.master.sshUser}/holodeck-check.js`;
        this.runner = new command.remote.CopyToRemote(`${name}-runner`, {
            connection: args.master.connection,
            source: new pulumi.asset.FileAsset(args.runner.path),
            remotePath: this.runnerPath,
            triggers: [args.runner.sha256, args.master.serverId],
        }, { parent: this, dependsOn: [args.master.ready] });
        this.registerOutputs({});
    }

    /** Runs the checks against `targets` (`${name}-${what}`) once `after` have completed. */
    check(what: string, targets: pulumi.Input<string[]>, after: pulumi.Resource[]): command.remote.Command {
        const script = pulumi.all([targets, this.args.variables]).apply(([urls, variables]) =>
            checkScript({ runner: this.runnerPath, spec: this.args.spec, variables, targets: urls }));
        const run = new command.remote.Command(`${this.name}-${what}`, {
            connection: this.args.master.connection,
            create: script,
            triggers: [this.args.releaseId, createHash("sha256").update(this.args.spec).digest("hex"), this.args.runner.sha256],
        }, { parent: this, dependsOn: [this.runner, ...after] });
        this.reports.push(run.stdout.apply(reportedOn(this, parseReport)));
        return run;
    }

    /** The verdict over every run so far. */
    verdict(): pulumi.Output<Verdict> {
        return pulumi.all(this.reports).apply((reports) => ({
            passed: reports.length > 0 && reports.every((report) => report.passed),
            checks: reports.reduce((sum, report) => sum + report.checks, 0),
            failures: reports.reduce((sum, report) => sum + report.failures, 0),
            at: reports.map((report) => report.finishedAt).sort().pop() ?? "",
        }));
    }
}
