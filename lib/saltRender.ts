// Salt's default renderer (jinja, then YAML) run with Debian's Jinja2 and PyYAML (Salt itself is
// not installable here), for the tests and the demo.
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { parse } from "yaml";
import { saltDir } from "../components/saltStateTree";
import { repoRoot } from "./paths";
import { ReleasePillarArgs, renderReleasePillar } from "./salt";

export interface SaltContext {
    readonly pillar?: unknown;
    readonly grains?: Record<string, string>;
    readonly opts?: Record<string, string>;
}

/** Renders salt/`file` with `context`; SLS files come back parsed as well. */
export function renderSalt(file: string, context: SaltContext): { text: string; data: unknown } {
    const request = JSON.stringify({ file: path.join(saltDir, file), yaml: file.endsWith(".sls"), ...context });
    const result = spawnSync("/usr/bin/python3", [path.join(repoRoot, "lib", "render_salt.py")], { input: request, encoding: "utf8" });
    if (result.status !== 0) throw new Error(`rendering salt/${file} failed:\n${result.stderr}`);
    return JSON.parse(result.stdout);
}

/** A release's pillar as Salt reads it (YAML 1.1). */
export function pillarData(pillarText: string): unknown {
    return parse(pillarText, { version: "1.1" });
}

/** The config.ini the holodeck state renders on a server of the release `release` describes. */
export function renderConfigIni(release: ReleasePillarArgs): string {
    return renderSalt("states/holodeck/config.ini.jinja", { pillar: pillarData(renderReleasePillar(release)) }).text;
}
