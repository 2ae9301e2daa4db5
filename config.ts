// The one module that reads stack configuration: every key is parsed and validated here, all
// problems are reported together, and the rest of the program gets typed values.
import * as pulumi from "@pulumi/pulumi";

/** How HoloMaker builds the app: the arguments of builder/holodeck-build. */
export interface BuildSettings {
    /** Git URL (https or ssh) of the app's repository. */
    readonly repo: string;
    /** Full 40-hex SHA of the commit to build. */
    readonly commit: string;
    /** Project directory inside the repository; "" for the root. */
    readonly subdir: string;
    /** Debian package name; "" derives it from the project's name. */
    readonly packageName: string;
    /** Virtualenv path on the servers; "" for /opt/venvs/<package name>. */
    readonly prefix: string;
    /** Debian-packaged interpreter the venv is built with. */
    readonly python: string;
    /** Console script and arguments of the systemd service; "" ships no unit. */
    readonly service: string;
    /** Package index URL; "" uses the public index unless findLinks are given. */
    readonly indexUrl: string;
    /** Wheel directories or URLs dependencies may come from. */
    readonly findLinks: readonly string[];
    /** Keep pip, setuptools and wheel in the runtime venv. */
    readonly withPip: boolean;
}

export interface HolodeckConfig {
    readonly build: BuildSettings;
}

/** Raw values as stack configuration holds them: strings, or JSON for arrays. */
export type RawConfig = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
    constructor(readonly problems: readonly string[]) {
        super(`invalid stack configuration:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

const namespace = "holodeck";
const gitUrl = /^(https:\/\/[^\s/@]+(:\d+)?\/\S+|ssh:\/\/[^\s@/]+@[^\s/]+\/\S+|[\w.-]+@[\w.-]+:\S+)$/;

/** Validates raw configuration values (keys without the "holodeck:" prefix). */
export function parseConfig(raw: RawConfig): HolodeckConfig {
    const problems: string[] = [];
    const problem = (key: string, text: string) => problems.push(`${namespace}:${key} ${text}`);
    const text = (key: string, fallback = "") => (raw[key] ?? fallback).trim();

    const repo = text("appRepo");
    if (!repo) problem("appRepo", "is required: set it with `pulumi config set holodeck:appRepo https://host/org/app.git`");
    else if (!gitUrl.test(repo)) problem("appRepo", `'${repo}' is not an https or ssh git URL (https://host/org/app.git, git@host:org/app.git)`);

    const commit = text("commit").toLowerCase();
    if (!commit) problem("commit", "is required: set it to the full SHA of the commit to ship (`git rev-parse HEAD`)");
    else if (!/^[0-9a-f]{40}$/.test(commit)) {
        problem("commit", `'${commit}' is not a full 40-hex commit SHA: branches, tags and short SHAs are mutable or ambiguous; use \`git rev-parse ${commit}\``);
    } else if (/^0+$/.test(commit)) problem("commit", "is still the placeholder of the stack file: set it to the full SHA of the commit to ship (`git rev-parse HEAD`)");

    const subdir = text("appSubdir");
    if (subdir.startsWith("/") || `/${subdir}/`.includes("/../")) problem("appSubdir", `'${subdir}' must be a relative path inside the repository, without '..'`);

    const packageName = text("appName");
    if (packageName && !/^[a-z0-9][a-z0-9+.-]+$/.test(packageName)) {
        problem("appName", `'${packageName}' is not a valid Debian package name: use lowercase letters, digits, '+', '-', '.'`);
    }

    const prefix = text("venvPrefix");
    if (prefix && !/^\/(opt|srv)(\/[A-Za-z0-9_+-][A-Za-z0-9._+-]*)+$/.test(prefix)) {
        problem("venvPrefix", `'${prefix}' must be an absolute, normalised path below /opt or /srv (e.g. /opt/venvs/myapp)`);
    }

    const python = text("python", "/usr/bin/python3");
    if (!/^\/\S+$/.test(python)) problem("python", `'${python}' must be the absolute path of the distribution's interpreter (e.g. /usr/bin/python3)`);

    const service = text("appService");
    if (service && !/^[A-Za-z0-9_.+-]+( [^\n]*)?$/.test(service)) {
        problem("appService", `'${service}' must start with the name of a console script of the app (e.g. 'myapp --port 8000') and fit on one line`);
    }

    const indexUrl = text("pipIndexUrl");
    if (indexUrl && !/^(https?|file):\/\/\S+$/.test(indexUrl)) problem("pipIndexUrl", `'${indexUrl}' must be an http(s):// or file:// URL`);

    let findLinks: string[] = [];
    const findLinksRaw = text("pipFindLinks", "[]");
    try {
        const parsed: unknown = JSON.parse(findLinksRaw);
        if (!Array.isArray(parsed) || !parsed.every((entry) => typeof entry === "string" && entry.trim() !== "")) throw new Error();
        findLinks = parsed;
    } catch {
        problem("pipFindLinks", `'${findLinksRaw}' must be a list of wheel directories or URLs, e.g. ["https://wheels.example.com/"]`);
    }

    const withPipRaw = text("withPip", "false");
    if (withPipRaw !== "true" && withPipRaw !== "false") problem("withPip", `'${withPipRaw}' must be true or false`);

    if (problems.length > 0) throw new ConfigError(problems);
    return {
        build: { repo, commit, subdir, packageName, prefix, python, service, indexUrl, findLinks, withPip: withPipRaw === "true" },
    };
}

const keys = ["appRepo", "commit", "appSubdir", "appName", "venvPrefix", "python", "appService", "pipIndexUrl", "pipFindLinks", "withPip"];

/** Reads and validates this stack's configuration. */
export function loadConfig(): HolodeckConfig {
    const config = new pulumi.Config(namespace);
    return parseConfig(Object.fromEntries(keys.map((key) => [key, config.get(key)])));
}
