// The repository's stack files as the Pulumi CLI would hand them to the program, and the stand-in
// for a test stack's outputs that offline runs of prod promote.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { isMap, isScalar, parse, parseDocument } from "yaml";
import { OfflineCloud } from "./offlineRun";
import { repoRoot } from "../lib/paths";

/** The project's name, from Pulumi.yaml. */
export function projectName(): string {
    return (parse(fs.readFileSync(path.join(repoRoot, "Pulumi.yaml"), "utf8")) as { name: string }).name;
}

/** A stack file's config, and which of its values are encrypted (`pulumi config set --secret`). */
export interface StackFile {
    /** Values as the Pulumi CLI hands them to the program: scalars as written, maps and lists as JSON. */
    readonly config: Record<string, string>;
    /**
     * Paths of the `{secure: ...}` values (`holodeck:appSecrets.api_token`): nothing offline can
     * decrypt them, so `config` holds {@link securePlaceholder} in their place.
     */
    readonly secure: readonly string[];
    /** Top-level keys holding a secure value: the program must see them as secret config. */
    readonly secretKeys: readonly string[];
}

/** What stands in for an encrypted value offline: one line, plainly not the real value. */
export function securePlaceholder(path: string): string {
    return `offline-placeholder-for-encrypted-${path}`;
}

/** Pulumi.<stack>.yaml of the project, read as {@link readStackFile} does. */
export function stackFile(stack: string): StackFile {
    const file = path.join(repoRoot, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) throw new Error(`no ${path.relative(process.cwd(), file)}: use a stack that has a stack file (test, prod)`);
    return readStackFile(file);
}

/**
 * A stack file's config as the Pulumi CLI would hand it to the program, encrypted values replaced
 * by placeholders. A scalar keeps its text as written (`0x10` stays "0x10", as the CLI keeps it).
 */
export function readStackFile(file: string): StackFile {
    const shown = path.relative(process.cwd(), file) || file;
    let document;
    try {
        document = parseDocument(fs.readFileSync(file, "utf8"));
    } catch (error) {
        throw new Error(`${shown} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
    }
    if (document.errors.length > 0) throw new Error(`${shown} is not valid YAML: ${document.errors[0].message.split("\n")[0]}`);
    const settings = isMap(document.contents) ? document.contents.get("config", true) : undefined;
    if (settings === undefined || settings === null) return { config: {}, secure: [], secretKeys: [] };
    if (!isMap(settings)) throw new Error(`${shown}: config must be a mapping of keys (holodeck:commit: ...) to values`);
    const config: Record<string, string> = {};
    const secure: string[] = [];
    const secretKeys: string[] = [];
    for (const pair of settings.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : "";
        if (!/^[\w.-]+:[\w.-]+$/.test(key)) throw new Error(`${shown}: config key ${JSON.stringify(key)} is not namespace:key (e.g. holodeck:commit)`);
        const node = pair.value;
        if (isScalar(node)) {
            config[key] = typeof node.value === "string" ? node.value : node.value === null ? "" : String(node.source ?? node.value);
            continue;
        }
        const before = secure.length;
        const value = withPlaceholders((node as { toJSON(): unknown } | null)?.toJSON() ?? "", key, secure);
        if (secure.length > before) secretKeys.push(key);
        config[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return { config, secure, secretKeys };
}

/** `value` with every `{secure: ...}` in it replaced by a placeholder, its path added to `secure`. */
function withPlaceholders(value: unknown, where: string, secure: string[]): unknown {
    if (Array.isArray(value)) return value.map((item, index) => withPlaceholders(item, `${where}[${index}]`, secure));
    if (typeof value !== "object" || value === null) return value;
    const entries = Object.entries(value);
    if (entries.length === 1 && entries[0][0] === "secure" && typeof entries[0][1] === "string") {
        secure.push(where);
        return securePlaceholder(where);
    }
    return Object.fromEntries(entries.map(([name, item]) => [name, withPlaceholders(item, `${where}.${name}`, secure)]));
}

/** Pulumi.<stack>.yaml's config (encrypted values as placeholders). */
export function stackConfig(stack: string): Record<string, string> {
    return stackFile(stack).config;
}

/** Pulumi.<stack>.yaml's holodeck:appConfig, the app's settings in that environment. */
export function stackAppConfig(stack: string): Record<string, string> {
    return JSON.parse(stackConfig(stack)["holodeck:appConfig"] ?? "{}") as Record<string, string>;
}

/** For prod: what a passing test stack exports for `commit`, made up. */
export function promotionStandIn(config: Record<string, string>, commit: string): OfflineCloud {
    const sha256 = createHash("sha256").update(`stand-in ${commit}`).digest("hex");
    const artifact = {
        commit, version: `1.0.0+git.${commit.slice(0, 7)}`, projectVersion: "1.0.0", packageName: "holodeck-hello", sha256,
        url: `https://swift.offline.invalid/v1/AUTH_offline/artifacts/holodeck-hello_${sha256.slice(0, 12)}.deb?temp_url_sig=offline`,
    };
    const from = config["holodeck:promoteFrom"] ?? "organization/holodeck/test";
    return { stackOutputs: { [from]: { artifact, verification: { sha256, commit, passed: true, checks: 6, failures: 0, at: "offline" } } } };
}
