// Real Salt (3008, from the virtualenv scripts/salt-venv.sh makes) run as `salt-call --local` on
// the repository's state tree and a release's pillar as the program writes it: for the tests and
// the demo.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { saltDir } from "../lib/repoFiles";
import { repoRoot } from "../lib/paths";
import { ReleasePillarArgs, releasePillarPath, renderReleasePillar } from "../lib/salt";

/** The Salt virtualenv: $HOLODECK_SALT_VENV, or the cache path scripts/salt-venv.sh uses. */
export function saltVenv(): string {
    const requirements = ["salt-build-requirements.txt", "salt-requirements.txt"].map((file) => fs.readFileSync(path.join(repoRoot, "scripts", file)));
    const digest = createHash("sha256").update(Buffer.concat(requirements)).digest("hex").slice(0, 12);
    const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
    const venv = process.env.HOLODECK_SALT_VENV || path.join(cache, "holodeck", `salt-${digest}`);
    if (!fs.existsSync(path.join(venv, ".complete"))) throw new Error(`no Salt virtualenv at ${venv}: run scripts/setup.sh (or scripts/salt-venv.sh)`);
    return venv;
}

/** Inputs of {@link LocalMinion}. */
export interface LocalMinionArgs {
    /** The minion id: pillar/top.sls chooses the release's pillar by it. */
    readonly minionId: string;
    /** The release pillar's text as the program writes it (the file releasePillarPath names). */
    readonly pillarText?: string;
    /** Grains, as cloud-init sets them on an app server. */
    readonly grains?: Readonly<Record<string, string>>;
    /** Where Salt's own files go (default: a new temporary directory). */
    readonly root?: string;
    /** The state tree (default: the repository's salt/states). */
    readonly fileRoot?: string;
}

/**
 * A masterless minion in a throwaway directory: file_roots is the repository's state tree,
 * pillar_roots a directory holding salt/pillar/top.sls and the release's pillar at the path the
 * program writes it to on the master.
 */
export class LocalMinion {
    /** The directory holding config, pillar and Salt's own files (cache, pki, logs). */
    readonly root: string;
    /** The config directory (`salt-call -c`). */
    readonly configDir: string;

    constructor(readonly args: LocalMinionArgs) {
        this.root = args.root ?? fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-salt-"));
        this.configDir = path.join(this.root, "etc");
        const pillarRoot = path.join(this.root, "pillar");
        fs.mkdirSync(this.configDir, { recursive: true });
        fs.mkdirSync(pillarRoot, { recursive: true });
        fs.copyFileSync(path.join(saltDir, "pillar", "top.sls"), path.join(pillarRoot, "top.sls"));
        if (args.pillarText !== undefined) {
            const release = args.minionId.replace(/-[^-]*$/, "");
            const file = path.join(pillarRoot, path.relative("/srv/pillar", releasePillarPath(release)));
            fs.mkdirSync(path.dirname(file), { recursive: true });
            fs.writeFileSync(file, args.pillarText);
        }
        const config = {
            id: args.minionId,
            file_client: "local",
            root_dir: path.join(this.root, "var"),
            file_roots: { base: [args.fileRoot ?? path.join(saltDir, "states")] },
            pillar_roots: { base: [pillarRoot] },
            grains: { ...(args.grains ?? {}) },
        };
        fs.writeFileSync(path.join(this.configDir, "minion"), stringify(config));
    }

    /** Runs `salt-call --local` with `args`; throws with its output unless it exits 0. */
    call(args: readonly string[]): string {
        const result = spawnSync(path.join(saltVenv(), "bin", "salt-call"), ["--local", "-c", this.configDir, "--retcode-passthrough", ...args], { encoding: "utf8" });
        if (result.status !== 0) throw new Error(`salt-call ${args.join(" ")} failed (${result.status ?? result.signal}):\n${result.stdout}${result.stderr}`);
        return result.stdout;
    }

    /** Runs a Salt function and returns its result, from Salt's JSON outputter. */
    json(args: readonly string[]): unknown {
        return (JSON.parse(this.call(["--out", "json", ...args])) as { local: unknown }).local;
    }

    /** The pillar this minion compiles, unmasked. */
    pillar(): Record<string, unknown> {
        return this.json(["pillar.items", "unmask=True"]) as Record<string, unknown>;
    }

    /** The template salt://`template` rendered by Salt's Jinja with this minion's pillar and grains. */
    renderTemplate(template: string): string {
        const out = path.join(this.root, "rendered", template);
        this.json(["cp.get_template", `salt://${template}`, out, "makedirs=True"]);
        return fs.readFileSync(out, "utf8");
    }

    /** Removes the directory (unless the caller gave it). */
    close(): void {
        if (!this.args.root) fs.rmSync(this.root, { recursive: true, force: true });
    }
}

/** The config.ini the holodeck state renders on a server of the release `release` describes. */
export function renderConfigIni(release: ReleasePillarArgs): string {
    const minion = new LocalMinion({
        minionId: `${release.app}-local-${release.releaseId}-0`,
        pillarText: renderReleasePillar(release),
        grains: { role: "app", app: release.app },
    });
    try {
        return minion.renderTemplate("holodeck/config.ini.jinja");
    } finally {
        minion.close();
    }
}
