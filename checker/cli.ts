// holodeck-check: the command line of the check runner. Exit 0 when every check passed against
// every target, 1 when one failed, 2 when nothing could be judged (bad usage or check file, or a
// report that could not be written). It runs from one bundled file on Node 18 and later, so it
// imports only Node's builtins and the checker's own modules (see bundleChecker in lib/repoFiles.ts).
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { redactCredentials } from "./redact";
import { renderJson, renderJUnit, renderTable } from "./report";
import { normalizeTarget, runChecks, TargetError } from "./run";
import { loadSpec, SpecError, SpecVariables, variableName } from "./spec";

const usage = `usage: holodeck-check --spec FILE --target URL [--target URL ...] [--var NAME=VALUE ...]
                      [--deadline SECONDS] [--concurrency N] [--json FILE|-] [--junit FILE]

Runs the HTTP checks of a check file (YAML or JSON) against every target's base URL, retrying
each failing check until the deadline, and prints a table of the results.

  --spec FILE         the check file
  --target URL        a base URL such as http://10.0.0.5:8000; repeat for more targets
  --var NAME=VALUE    replaces {{NAME}} in the file's strings; repeat for more
  --deadline SECONDS  retry failing checks until this long after the start (default: the file's
                      deadlineSeconds, else 60)
  --concurrency N     at most N requests at once (default: the file's concurrency, else 8)
  --json FILE         also write the report as JSON; "-" writes it to stdout and the table to stderr
  --junit FILE        also write the report as JUnit XML
  -h, --help          show this help

Exit status: 0 all checks passed, 1 some check failed, 2 bad usage or check file (nothing run).
`;

/** A wrong argument or an unwritable report: reported on one line, exit status 2. */
class CliError extends Error {}

/** Runs the command line `args` (without node and the script); resolves with the exit status. */
export async function main(args: readonly string[]): Promise<number> {
    try {
        const options = parseOptions(args);
        if (options === "help") {
            process.stdout.write(usage);
            return 0;
        }
        const spec = loadSpec(options.spec, options.variables);
        // A report that cannot be written is found now, not after the whole deadline.
        for (const file of [options.json, options.junit]) if (file !== undefined && file !== "-") checkWritable(file);
        const report = await runChecks(spec, options.targets, options);
        const table = renderTable(report);
        if (options.json === "-") {
            process.stderr.write(table);
            process.stdout.write(renderJson(report));
        } else {
            process.stdout.write(table);
            if (options.json !== undefined) writeReport(options.json, renderJson(report));
        }
        if (options.junit !== undefined) writeReport(options.junit, renderJUnit(report));
        return report.passed ? 0 : 1;
    } catch (error) {
        if (error instanceof SpecError || error instanceof CliError || error instanceof TargetError) {
            for (const line of error.message.split("\n")) process.stderr.write(`holodeck-check: error: ${redactCredentials(line)}\n`);
            return 2;
        }
        throw error;
    }
}

interface Options {
    spec: string;
    targets: string[];
    variables: SpecVariables;
    deadlineSeconds?: number;
    concurrency?: number;
    json?: string;
    junit?: string;
}

function parseOptions(args: readonly string[]): Options | "help" {
    let values;
    try {
        ({ values } = parseArgs({
            args: [...args],
            strict: true,
            allowPositionals: false,
            options: {
                spec: { type: "string" },
                target: { type: "string", multiple: true },
                var: { type: "string", multiple: true },
                deadline: { type: "string" },
                concurrency: { type: "string" },
                json: { type: "string" },
                junit: { type: "string" },
                help: { type: "boolean", short: "h" },
            },
        }));
    } catch (error) {
        throw new CliError(`${(error as Error).message} (see --help)`);
    }
    if (values.help) return "help";
    if (values.spec === undefined) throw new CliError("--spec FILE is required (see --help)");
    const targets = values.target ?? [];
    if (targets.length === 0) throw new CliError("at least one --target URL is required (see --help)");
    targets.forEach(normalizeTarget);
    return {
        spec: values.spec,
        targets,
        variables: parseVariables(values.var ?? []),
        ...(values.deadline === undefined ? {} : { deadlineSeconds: parseNumber("--deadline", values.deadline, false) }),
        ...(values.concurrency === undefined ? {} : { concurrency: parseNumber("--concurrency", values.concurrency, true) }),
        ...(values.json === undefined ? {} : { json: values.json }),
        ...(values.junit === undefined ? {} : { junit: values.junit }),
    };
}

function parseNumber(option: string, text: string, positiveInteger: boolean): number {
    const value = Number(text);
    const valid = text.trim() !== "" && Number.isFinite(value) && (positiveInteger ? Number.isInteger(value) && value >= 1 : value >= 0);
    if (!valid) throw new CliError(`${option} must be ${positiveInteger ? "a whole number of at least 1" : "a number of seconds, 0 or more"}, got ${JSON.stringify(text)}`);
    return value;
}

function parseVariables(assignments: readonly string[]): SpecVariables {
    const variables: Record<string, string> = {};
    for (const assignment of assignments) {
        const equals = assignment.indexOf("=");
        const name = assignment.slice(0, Math.max(equals, 0));
        if (equals < 0 || !variableName.test(name)) {
            throw new CliError(`--var must be NAME=VALUE with NAME made of letters, digits and _, got ${JSON.stringify(assignment)}`);
        }
        variables[name] = assignment.slice(equals + 1);
    }
    return variables;
}

/** Throws CliError unless `file` can be written: a writable file, or a new one in a writable directory. */
function checkWritable(file: string): void {
    try {
        if (fs.existsSync(file)) {
            if (fs.statSync(file).isDirectory()) throw new Error("it is a directory");
            fs.accessSync(file, fs.constants.W_OK);
        } else {
            fs.accessSync(path.dirname(path.resolve(file)), fs.constants.W_OK);
        }
    } catch (error) {
        throw new CliError(`cannot write the report ${file}: ${(error as Error).message} (nothing was run)`);
    }
}

function writeReport(file: string, content: string): void {
    try {
        fs.writeFileSync(file, content);
    } catch (error) {
        throw new CliError(`cannot write the report ${file}: ${(error as Error).message}`);
    }
}

/** Runs {@link main} as the process: its status becomes the exit code. */
export function run(args: readonly string[]): void {
    main(args).then(
        (status) => (process.exitCode = status),
        (error: unknown) => {
            process.stderr.write(`holodeck-check: error: ${redactCredentials(error instanceof Error ? (error.stack ?? error.message) : String(error))}\n`);
            process.exitCode = 2;
        },
    );
}

if (require.main === module) run(process.argv.slice(2));
