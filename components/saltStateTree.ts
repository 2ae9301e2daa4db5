import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { heredoc } from "../lib/shell";
import { SaltMaster } from "./saltMaster";

const delimiter = "HOLODECK_STATE_TREE_EOF";

/**
 * A bash script (run as root) that replaces the master's state tree (`root`/srv/salt) with
 * `files` and puts the pillar top file in place, owned by `owner` (the master runs as user salt).
 * The releases' own pillar files are left alone: each belongs to its release.
 */
export function stateTreeScript(files: Readonly<Record<string, string>>, root = "", owner = "salt"): string {
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
    /** The master the tree goes to; a replaced master gets it anew. */
    readonly master: SaltMaster;
    /** The tree's files by path relative to salt/ (`readStateTree`): states/... and pillar/top.sls. */
    readonly files: Readonly<Record<string, string>>;
}

/** Puts the state tree and pillar top file on the master; re-runs when they change. */
export class SaltStateTree extends pulumi.ComponentResource {
    /** Completes when the tree is in place: app servers apply states only after it. */
    readonly installed: command.remote.Command;

    constructor(name: string, args: SaltStateTreeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("holodeck:index:SaltStateTree", name, {}, opts);
        const treeHash = createHash("sha256").update(JSON.stringify(args.files)).digest("hex");
        this.installed = new command.remote.Command(`${name}-install`, {
            connection: args.master.connection,
            create: heredoc("sudo bash -s", stateTreeScript(args.files), "HOLODECK_SCRIPT_EOF", "the state tree's script"),
            triggers: [treeHash, args.master.serverId],
        }, { parent: this, dependsOn: [args.master.ready] });
        this.registerOutputs({});
    }
}
