// The offline plan: runs the real Pulumi program under the SDK's mocks with a stack's
// configuration and writes what it would register (plan.json) and what every server would
// receive (rendered/). With --commit it also says what a change of commit replaces. This is NOT
// a `pulumi preview`: no engine, no state, no provider; the cloud's answers are stand-ins.
//
//   npm run plan -- --stack test|prod [--commit SHA] [--out DIR] [--config-file FILE]
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { ConfigError } from "../config";
import { OfflineRun, RecordedResource, reveal, runOffline } from "../tools/offlineRun";
import { repoRoot } from "../lib/paths";
import { projectName, promotionStandIn, readStackFile, StackFile, stackFile } from "../tools/stackFiles";

type Program = () => Promise<Record<string, unknown>>;

const usage = "usage: npm run plan -- --stack test|prod [--commit SHA] [--out DIR] [--config-file FILE]";

function fail(text: string): never {
    console.error(`plan: error: ${text}`);
    process.exit(2);
}

interface Args {
    stack: string;
    commit?: string;
    out?: string;
    configFile?: string;
}

function parseArgs(argv: string[]): Args {
    const flags: Record<string, keyof Args> = { "--stack": "stack", "--commit": "commit", "--out": "out", "--config-file": "configFile" };
    const args: Partial<Args> = {};
    for (let index = 0; index < argv.length; index += 2) {
        const [flag, value] = [argv[index], argv[index + 1]];
        const name = Object.hasOwn(flags, flag) ? flags[flag] : undefined;
        if (!name) fail(`unknown argument '${flag}' (${usage})`);
        if (value === undefined || value.startsWith("--")) fail(`${flag} needs a value`);
        if (value.trim() === "") fail(`${flag} is empty: give a value (${usage})`);
        if (args[name] !== undefined) fail(`${flag} is given twice: give it once`);
        args[name] = value;
    }
    if (!args.stack) fail(`--stack is required: the stack whose Pulumi.<stack>.yaml to plan (${usage})`);
    // Pulumi's own rule for stack names; the name also becomes a file and directory name here.
    if (!/^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/.test(args.stack)) fail(`--stack '${args.stack}' is not a stack name (letters, digits, '-', '_', '.')`);
    if (args.commit !== undefined) {
        if (!/^[0-9a-f]{40}$/i.test(args.commit)) fail(`--commit '${args.commit}' is not a full 40-hex commit SHA`);
        args.commit = args.commit.toLowerCase();
    }
    return args as Args;
}

/** The file in an output directory that says the plan wrote it: only such a directory is cleared. */
const outMarker = ".holodeck-plan";
/** What the plan writes in its output directory, and so all it removes there. */
const outEntries = ["plan.json", "rendered"];

/**
 * Refuses an output directory the plan did not make: it may hold anything (`--out .` is a
 * checkout). A new or empty one is fine, and so is one with the marker of an earlier plan.
 */
function checkOut(out: string, stack: string): void {
    let entries: string[];
    try {
        entries = fs.readdirSync(out);
    } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOENT") return;
        fail(`--out ${out} cannot be used (${code === "ENOTDIR" ? "it is a file" : code ?? (error as Error).message}): give a new or empty directory`);
    }
    if (entries.length > 0 && !entries.includes(outMarker)) {
        fail(`--out ${out} is not empty and holds no earlier plan (no ${outMarker} file): the plan replaces only its own output and never deletes `
            + `what it did not write. Give a new or empty directory, e.g. --out .holodeck/plan-${stack}`);
    }
}

/** Makes `out` ready for a new plan: removes only the earlier plan's own files. */
function prepareOut(out: string): void {
    for (const entry of outEntries) fs.rmSync(path.join(out, entry), { recursive: true, force: true });
    fs.mkdirSync(path.join(out, "rendered"), { recursive: true });
    fs.writeFileSync(path.join(out, outMarker), "Written by `npm run plan`: it replaces plan.json and rendered/ in this directory, and nothing else.\n");
}

const redactPrivateKeys = (text: string) =>
    text.replace(/-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g, "[redacted $1private key]");

/** plan.json's entry of a resource: secrets redacted, user data pointing at its rendered file. */
function describe(resource: RecordedResource): Record<string, unknown> {
    const inputs = reveal(resource.inputs, true) as Record<string, unknown>;
    if (resource.inputs.userData !== undefined) inputs.userData = `rendered/${resource.name}.cloud-init.yaml`;
    return { type: resource.type, name: resource.name, parent: resource.parent ?? null, inputs, options: reveal(resource.options, true) };
}

/** A release's pillar with what is secret in it (app secrets, the download URL) redacted. */
function redactPillar(text: string): string {
    const pillar = parse(text, { version: "1.1" }) as { holodeck: { release: { url: string }; secrets: Record<string, string> } };
    pillar.holodeck.release.url = "[secret]";
    pillar.holodeck.secrets = Object.fromEntries(Object.keys(pillar.holodeck.secrets).map((key) => [key, "[secret]"]));
    return stringify(pillar, { version: "1.1", lineWidth: 0 });
}

/**
 * Every cloud-init document, the Salt configuration files inside them, and the releases' pillars
 * the master serves, secrets redacted.
 */
function writeRendered(run: OfflineRun, dir: string): number {
    let count = 0;
    for (const resource of run.resources.filter((candidate) => candidate.name.endsWith("-pillar") && candidate.type === "command:remote:Command")) {
        const target = path.join(dir, "master", String(reveal(resource.inputs.create)).split(" ").pop() ?? "pillar.sls");
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, redactPillar(String(reveal(resource.inputs.stdin))));
        count += 1;
    }
    for (const resource of run.resources.filter((candidate) => candidate.inputs.userData !== undefined)) {
        const document = redactPrivateKeys(String(reveal(resource.inputs.userData)));
        fs.writeFileSync(path.join(dir, `${resource.name}.cloud-init.yaml`), document);
        count += 1;
        const files = (parse(document) as { write_files?: { path: string; content: string }[] }).write_files ?? [];
        for (const file of files.filter((candidate) => candidate.path.startsWith("/etc/salt/") && !candidate.path.includes("/pki/"))) {
            const target = path.join(dir, resource.name, file.path);
            fs.mkdirSync(path.dirname(target), { recursive: true });
            fs.writeFileSync(target, file.content);
            count += 1;
        }
    }
    return count;
}

/** What changing the commit does to each resource, judged from the options that force replacement. */
function classify(before: RecordedResource | undefined, after: RecordedResource | undefined): "create" | "delete" | "replace" | "update" | "same" {
    if (!before) return "create";
    if (!after) return "delete";
    const same = (a: unknown, b: unknown) => JSON.stringify(reveal(a)) === JSON.stringify(reveal(b));
    if (!same(before.options.replacementTrigger, after.options.replacementTrigger)) return "replace";
    if ((after.options.replaceOnChanges ?? []).some((key) => !same(before.inputs[key], after.inputs[key]))) return "replace";
    // The command provider replaces a command whose script or triggers change.
    if (after.type.startsWith("command:") && (!same(before.inputs.create, after.inputs.create) || !same(before.inputs.triggers, after.inputs.triggers))) return "replace";
    return same(before.inputs, after.inputs) ? "same" : "update";
}

async function main(): Promise<void> {
    const args = parseArgs(process.argv.slice(2));
    const project = projectName();
    let file: StackFile;
    try {
        file = args.configFile ? readStackFile(path.resolve(args.configFile)) : stackFile(args.stack);
    } catch (error) {
        fail((error as Error).message);
    }
    const config = { ...file.config };
    const stackFileName = args.configFile ?? `Pulumi.${args.stack}.yaml`;
    const out = path.resolve(args.out ?? path.join(repoRoot, ".holodeck", `plan-${args.stack}`));
    checkOut(out, args.stack);
    const stackFileCommit = config["holodeck:commit"];
    if (args.commit) config["holodeck:commit"] = args.commit;
    const promoting = config["holodeck:artifactSource"] === "promote";
    const standInCommit = args.commit ?? "5ca1ab1e0ddba11c0ffee5ca1ab1e0ddba11c0ff";
    const cloud = promoting ? promotionStandIn(config, standInCommit) : {};
    const program = (await import("../index")).default as Program;
    const secretKeys = file.secretKeys;

    let run: OfflineRun;
    try {
        run = await runOffline(program, { project, stack: args.stack, config, secretKeys, cloud });
    } catch (error) {
        if (error instanceof ConfigError) fail(`${stackFileName}: ${error.message}${promoting ? "" : "\n(plan a commit with --commit SHA)"}`);
        throw error;
    }
    prepareOut(out);
    const rendered = writeRendered(run, path.join(out, "rendered"));
    fs.writeFileSync(path.join(out, "plan.json"), `${JSON.stringify({
        note: "Offline plan: the real program under the Pulumi SDK's mocks. Not a `pulumi preview`: no engine, state or provider ran; "
            + "addresses, keys, IDs and build results are stand-ins.",
        project, stack: args.stack, commit: config["holodeck:commit"] ?? null,
        standIns: promoting ? { promotedFrom: cloud.stackOutputs } : undefined,
        encryptedPlaceholders: file.secure.length > 0 ? file.secure : undefined,
        resources: run.resources.map(describe),
        outputs: reveal(run.outputs, true),
    }, null, 2)}\n`);

    console.log(`Offline plan of stack ${args.stack} (not a pulumi preview: mocks, no cloud): ${run.resources.length} resources`);
    const types = new Map<string, number>();
    for (const resource of run.resources) types.set(resource.type, (types.get(resource.type) ?? 0) + 1);
    for (const [type, count] of [...types].sort()) console.log(`  ${String(count).padStart(3)}  ${type}`);
    if (file.secure.length > 0) {
        console.log(`${file.secure.length} encrypted value${file.secure.length > 1 ? "s" : ""} (${file.secure.join(", ")}) cannot be decrypted offline: `
            + "planned with placeholder values, kept secret ([secret] in plan.json)");
    }
    console.log(`wrote ${path.relative(process.cwd(), path.join(out, "plan.json"))} and ${rendered} files in ${path.relative(process.cwd(), path.join(out, "rendered"))}/`);

    if (args.commit && !promoting) {
        const stackCommit = stackFileCommit ?? "";
        const baseline = /^[0-9a-f]{40}$/.test(stackCommit) && !/^0+$/.test(stackCommit) && stackCommit !== args.commit
            ? { commit: stackCommit, label: `the stack's commit ${stackCommit.slice(0, 12)}` }
            : { commit: createHash("sha1").update(args.commit).digest("hex"), label: "another commit (a stand-in: the stack file has none)" };
        const before = await runOffline(program, { project, stack: args.stack, config: { ...config, "holodeck:commit": baseline.commit }, secretKeys, cloud });
        const beforeByName = new Map(before.resources.map((resource) => [resource.name, resource]));
        const afterByName = new Map(run.resources.map((resource) => [resource.name, resource]));
        const names = [...new Set([...beforeByName.keys(), ...afterByName.keys()])].sort();
        const verdicts = names.map((name) => ({ name, verdict: classify(beforeByName.get(name), afterByName.get(name)) }));
        console.log(`\nFrom ${baseline.label} to ${args.commit.slice(0, 12)}:`);
        for (const verdict of ["replace", "create", "delete", "update", "same"] as const) {
            const matching = verdicts.filter((entry) => entry.verdict === verdict).map((entry) => entry.name);
            if (matching.length > 0) console.log(`  ${verdict === "same" ? "stay" : verdict} (${matching.length}): ${matching.join(", ")}`);
        }
    }
}

main().catch((error: Error) => fail(error.stack ?? error.message));
