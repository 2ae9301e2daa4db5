// HoloMaker's contract with the rest of the program: the command line that builds a release
// on a build minion, and the manifest that comes back.
import { stateDefaults } from "./salt";
import { shellQuote } from "./shell";

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
    /**
     * Package index URL without its credentials (what may be shown); "" uses the public index
     * unless findLinks are given. The whole URL is the `indexUrl` of the stack's release settings, a secret.
     */
    readonly indexUrl: string;
    /** Wheel directories or URLs dependencies may come from. */
    readonly findLinks: readonly string[];
    /** Keep pip, setuptools and wheel in the runtime venv. */
    readonly withPip: boolean;
}

/** What builder/holodeck-build writes beside each .deb (DIR/NAME_VERSION_ARCH.deb.json). */
export interface Manifest {
    name: string;
    version: string;
    architecture: string;
    file: string;
    sha256: string;
    size: number;
    commit: string;
    commitTime: string;
    repo: string;
    subdir: string | null;
    project: string;
    projectVersion: string;
    python: string;
    prefix: string;
    depends: string;
    entryPoints: Record<string, string>;
    service: string | null;
    withPip: boolean;
    builder: string;
    /** ID of the distribution it was built on (os-release ID, e.g. debian, ubuntu). */
    osId: string;
    /** Its version (os-release VERSION_ID, e.g. 12, 24.04); "" on rolling releases. */
    osVersion: string;
}

/** Object names Holodeck stores: what Debian allows in a file name, nothing to escape in a URL. */
export const objectName = /^[A-Za-z0-9][A-Za-z0-9._+~-]*$/;

/**
 * The remote script that copies a release another stack verified into a store with
 * holodeck-publish, in the login user's home (its credential and the source URL on stdin):
 * stored as `object` only if its sha256 is the release's. `store` are the flags naming the store.
 */
export function publishCopyScript(release: { readonly packageName: string; readonly version: string; readonly sha256: string }, object: string, store: readonly string[]): string {
    const label = `${release.packageName} ${release.version} (sha256 ${release.sha256.slice(0, 12)})`;
    const flags = ["--copy-object", object, "--sha256", release.sha256, "--release", label, ...store];
    return ["set -euo pipefail", `bash "$HOME/holodeck-publish" ${flags.map(shellQuote).join(" ")}`].join("\n");
}

/** The directory of this machine a repository URL names (a path or file:/// URL), or undefined. */
export function localRepository(repo: string): string | undefined {
    if (repo.startsWith("/")) return repo;
    if (repo.startsWith("file:///")) return repo.slice("file://".length);
    return undefined;
}

/** `url` without the userinfo (user:password@) of its authority: what may be shown. */
export function withoutCredentials(url: string): string {
    return url.replace(/([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/\s]*@/g, "$1");
}

/**
 * What systemd would refuse or rewrite in `command` as an ExecStart= command line after the
 * venv's bin directory (systemd.service(5) "Command lines", systemd.syntax(7) "Quoting"), or "".
 * holodeck-build escapes '%' and any '$' that starts no variable, so they stay literal; its
 * service_problem has the same rules and messages (a test runs both, and systemd-analyze, over
 * one table of cases).
 */
export function serviceCommandProblem(command: string): string {
    if (command.length > 4096) return "is longer than 4096 characters: pass long settings in the app's configuration";
    let quote = "";
    let word = "";
    for (let i = 0; i < command.length; i++) {
        const c = command[i];
        if (c === "\\") return "has a backslash, which systemd reads as an escape sequence (\\n, \\x41, \\;): write the character itself";
        if (c === "$") {
            const variable = /^\$(\{[^}]*\}?|[A-Za-z_][A-Za-z0-9_]*)/.exec(command.slice(i))?.[0];
            if (variable) {
                return `has ${variable}, which systemd replaces with the value of an environment variable (the unit sets `
                    + "none for the app): write the value itself, or put it in the app's configuration";
            }
        }
        if (c === "'" || c === '"') {
            if (!quote) quote = c;
            else if (c === quote) quote = "";
        }
        if (c === " " && !quote) {
            if (word === ";") break;
            word = "";
        } else word += c;
    }
    if (quote) return `has an unbalanced ${quote} quote, for which systemd refuses the unit: close it, or quote with the other kind ("it's")`;
    if (word === ";") return "has a lone ';', which systemd reads as the start of a second command: quote it (';') to pass it to the app";
    return "";
}

/**
 * The shell command that builds `build` with the holodeck-build script at `builder`, writing the
 * .deb and its manifest to `outDir`. The last line it prints is the manifest's path. With an
 * index URL, holodeck-build reads it from the first line of its stdin (`--index-url -`): the
 * caller pipes it in, since it may hold credentials. With `wheelCache`, wheels built from
 * dependencies' sdists are kept there for the next commit's build.
 */
export function holodeckBuildCommand(build: BuildSettings, builder: string, outDir: string, wheelCache = ""): string {
    const args = [builder, "--repo", build.repo, "--commit", build.commit, "--out", outDir, "--python", build.python];
    const optional: [string, string][] = [
        ["--subdir", build.subdir],
        ["--name", build.packageName],
        ["--prefix", build.prefix],
        ["--index-url", build.indexUrl ? "-" : ""],
        ["--service", build.service],
        // The path the Salt state writes the config to, which the unit hands the service.
        ["--config-file", build.service ? stateDefaults("{app}").config_file : ""],
        ["--wheel-cache", wheelCache],
    ];
    for (const [flag, value] of optional) if (value) args.push(flag, value);
    for (const links of build.findLinks) args.push("--find-links", links);
    if (build.withPip) args.push("--with-pip");
    return args.map(shellQuote).join(" ");
}
