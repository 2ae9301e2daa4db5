import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { heredoc } from "../lib/holoMaker";
import { repoRoot } from "../lib/paths";

/** The state tree in the repository: salt/states (file_roots) and salt/pillar (pillar_roots). */
export const saltDir = path.join(repoRoot, "salt");

/** Every file of the tree, by path relative to salt/, in a stable order. */
export function readStateTree(dir: string = saltDir): Record<string, string> {
    const files = fs.readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
        .sort();
    return Object.fromEntries(files.map((file) => [file, fs.readFileSync(path.join(dir, file), "utf8")]));
}

const delimiter = "HOLODECK_STATE_TREE_EOF";

/**
 * A bash script (run as root) that replaces the master's state tree (`root`/srv/salt) with
 * `files` and puts the pillar top file in place, owned by `owner` (the master runs as user salt).
 * The releases' own pillar files are left alone: each belongs to its release.
 */
export function stateTreeScript(files: Record<string, string>, root = "", owner = "salt"): string {
    const lines = [
        "set -euo pipefail",
        `rm -rf ${root}/srv/salt`,
        `install -d -o ${owner} -g ${owner} -m 0750 ${root}/srv/salt ${root}/srv/pillar ${root}/srv/pillar/releases`,
    ];
    for (const [file, content] of Object.entries(files)) {
        const target = file.startsWith("states/") ? `/srv/salt/${file.slice("states/".length)}` : `/srv/${file}`;
        if (!/^[\w./-]+$/.test(file) || !/^\/srv\/(salt|pillar)\//.test(target)) throw new Error(`salt/${file}: not a state or pillar file name`);
        lines.push(heredoc(`install -D -o ${owner} -g ${owner} -m 0640 /dev/stdin ${root}${target}`, content, delimiter, `salt/${file}`));
    }
    return `${lines.join("\n")}\n`;
}

export interface SaltStateTreeArgs {
    /** SSH connection to the master (secret). */
    readonly connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    /** Completes when salt-master is up (user salt exists). */
    readonly masterReady: pulumi.Resource;
    /** The master's server id: a replaced master gets the tree anew. */
    readonly masterServerId: pulumi.Input<string>;
}

/** Puts the repository's state tree and pillar top file on the master; re-runs when they change. */
export class SaltStateTree extends pulumi.ComponentResource {
    /** Completes when the tree is in place: app servers apply states only after it. */
    readonly installed: command.remote.Command;

    constructor(name: string, args: SaltStateTreeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("holodeck:index:SaltStateTree", name, {}, opts);
        const tree = readStateTree();
        const treeHash = createHash("sha256").update(JSON.stringify(tree)).digest("hex");
        this.installed = new command.remote.Command(`${name}-install`, {
            connection: args.connection,
            create: heredoc("sudo bash -s", stateTreeScript(tree), "HOLODECK_SCRIPT_EOF", "the state tree's script"),
            triggers: [treeHash, args.masterServerId],
        }, { parent: this, dependsOn: [args.masterReady] });
        this.registerOutputs({});
    }
}
