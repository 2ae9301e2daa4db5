// HoloMaker's contract with the rest of the program: the command line that builds a release
// on a build minion, and the manifest that comes back.
import { BuildSettings } from "../config";
import { stateDefaults } from "./salt";

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

/** Quotes one word for a POSIX shell. */
export function shellQuote(word: string): string {
    return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * `command` fed `content` by a quoted heredoc (no expansion inside) ending at `delimiter`, as
 * lines of a script. Refuses content that holds the delimiter line (`what` names it), which
 * would end the heredoc early and run the rest as commands.
 */
export function heredoc(command: string, content: string, delimiter: string, what: string): string {
    if (content.split("\n").includes(delimiter)) throw new Error(`${what} contains the line ${delimiter}`);
    return [`${command} <<'${delimiter}'`, content.endsWith("\n") ? content.slice(0, -1) : content, delimiter].join("\n");
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
