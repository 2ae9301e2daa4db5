import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { renderAppServerUserData } from "../lib/cloudInit";
import { shellQuote } from "../lib/shell";
import { releasePillarPath } from "../lib/salt";
import { serverIdFile } from "./managedServer";
import { SaltMaster } from "./saltMaster";
import { SaltStateTree } from "./saltStateTree";
import { Substrate } from "./substrate";

/** Inputs of `healthGateScript`. */
export interface HealthGateArgs {
    /** Every /health URL of the release. */
    readonly urls: readonly string[];
    /** Version /health must report: the release's, not an older one still answering. */
    readonly version: string;
    /** How long to wait for all of them, in seconds. */
    readonly timeoutSeconds: number;
    /** Pause between polls, in seconds. */
    readonly intervalSeconds?: number;
    /** The servers' minion ids, in the order of `urls`: a failure shows what failed in the server's Salt run. */
    readonly minionIds?: readonly string[];
    /** The master's salt command (default "sudo salt"). */
    readonly salt?: string;
}

/**
 * A shell command printing the states that failed in the last complete Salt run `log` holds (the
 * highstate output salt-call writes: states between "----------" lines, then "Summary for ..."),
 * leaving out those that failed only because a state they require did.
 */
export function failedStatesScript(log = "/var/log/cloud-init-output.log"): string {
    const awk = [
        'function keep() { if (block ~ /Result: False/ && block !~ /One or more requisite failed/) run = run "----------\\n" block; block = "" }',
        "/^----------$/ { keep(); next }",
        '/^Summary for / { keep(); last = run; run = ""; next }',
        '{ block = block $0 "\\n" }',
        'END { keep(); printf "%s", (last != "" ? last : run) }',
    ].join("\n");
    return `awk ${shellQuote(awk)} ${shellQuote(log)} | head -n 60`;
}

/**
 * A bash script that polls every URL until it answers 200 with the release's version, and fails
 * naming the URL and its last answer when the deadline passes first, with the failed states of
 * that server's Salt run (asked through the master) when there are any.
 */
export function healthGateScript(args: HealthGateArgs): string {
    const interval = args.intervalSeconds ?? 5;
    const versionPattern = `"version": *"${args.version.replace(/[.[\]*^$\\]/g, "\\$&")}"`;
    return [
        "set -uo pipefail",
        `deadline=$((SECONDS + ${args.timeoutSeconds}))`,
        `urls=(${args.urls.map(shellQuote).join(" ")})`,
        `minions=(${(args.minionIds ?? []).map(shellQuote).join(" ")})`,
        'for i in "${!urls[@]}"; do',
        '  url=${urls[$i]} minion=${minions[$i]:-}',
        "  answer=''",
        `  until answer=$(curl -fsS --max-time 5 "$url" 2>&1) && grep -q ${shellQuote(versionPattern)} <<<"$answer"; do`,
        "    if ((SECONDS >= deadline)); then",
        `      echo "health gate: $url did not report version ${args.version} within ${args.timeoutSeconds} s; last answer: \${answer:0:300}" >&2`,
        '      if [ -n "$minion" ]; then',
        // txt prints "<minion>: <output>".
        `        if failed=$(${args.salt ?? "sudo salt"} --timeout 15 --out txt "$minion" cmd.run ${shellQuote(failedStatesScript())} 2>&1); then`,
        '          failed=${failed#"$minion: "}',
        `          if [ -n "\${failed//[[:space:]]/}" ]; then printf 'health gate: what failed in the last Salt run of %s:\\n%s\\n' "$minion" "$failed" >&2;`,
        '          else echo "health gate: the last Salt run of $minion failed no state" >&2; fi',
        '        else',
        '          echo "health gate: $minion did not answer the master: ${failed:0:300}" >&2',
        "        fi",
        "      fi",
        "      exit 1",
        "    fi",
        `    sleep ${interval}`,
        "  done",
        '  echo "health gate: $url is healthy"',
        "done",
    ].join("\n");
}

/** The name of a release of `app` in `stack`: the prefix of its minion ids and its pillar's name. */
export function releaseName(app: string, stack: string, releaseId: string): string {
    return `${app}-${stack}-${releaseId}`;
}

/** The minion id of server `index` of a release: unique per server and release (CVE-2016-9639). */
export function minionId(app: string, stack: string, releaseId: string, index: number): string {
    return `${releaseName(app, stack, releaseId)}-${index}`;
}

/** Options of the master-side scripts, for running them against a fake root in tests. */
export interface MasterScriptOptions {
    /** Prefix of every path (default "": the master itself). */
    readonly root?: string;
    /** Owner of the files written (default salt: the master runs as user salt). */
    readonly owner?: string;
    /** The salt-key command (default "salt-key"). */
    readonly saltKey?: string;
}

// A delete runs over the connection it was created with: after the master is replaced, that
// reaches the new master. Acting only where the server id is still the one created on keeps
// the new master's copy (put there by the replacement's create) in place.
function onlyOn(masterServerId: string, action: string, root: string): string {
    return [
        "set -euo pipefail",
        `if [ "$(cat ${shellQuote(root + serverIdFile)} 2>/dev/null)" = ${shellQuote(masterServerId)} ]; then`,
        `  ${action}`,
        "else",
        `  echo "not the master this was created on (${masterServerId}): left alone"`,
        "fi",
    ].join("\n");
}

/** Writes a release's pillar (on stdin) to `pillarPath`, readable by the master only. */
export function pillarCreateScript(pillarPath: string, options: MasterScriptOptions = {}): string {
    const owner = options.owner ?? "salt";
    return `install -D -o ${owner} -g ${owner} -m 0640 /dev/stdin ${shellQuote((options.root ?? "") + pillarPath)}`;
}

/** Removes a release's pillar, on the master `masterServerId` only. */
export function pillarDeleteScript(pillarPath: string, masterServerId: string, options: MasterScriptOptions = {}): string {
    const root = options.root ?? "";
    return onlyOn(masterServerId, `rm -f ${shellQuote(root + pillarPath)}`, root);
}

/**
 * Pre-seeds a minion's public key: the master accepts exactly this key for this id. Whatever the
 * minion offered before the seed (to a new master, while it booted) is dropped, so nothing of it
 * stays pending.
 */
export function minionKeyCreateScript(minion: string, publicKeyPem: string, options: MasterScriptOptions = {}): string {
    const owner = options.owner ?? "salt";
    const keys = `${options.root ?? ""}/etc/salt/pki/master`;
    const offered = ["minions_pre", "minions_rejected", "minions_denied"].map((dir) => shellQuote(`${keys}/${dir}/${minion}`)).join(" ");
    return `printf '%s' ${shellQuote(publicKeyPem)} | install -o ${owner} -g ${owner} -m 0644 /dev/stdin ${shellQuote(`${keys}/minions/${minion}`)} && rm -f ${offered}`;
}

/**
 * Forgets a minion the Salt way, on the master `masterServerId` only: `salt-key -d` removes its key
 * and its data cache (in 3008 the grains and pillar banks under /var/cache/salt/master, secrets included),
 * which removing the key file would leave.
 */
export function minionKeyDeleteScript(minion: string, masterServerId: string, options: MasterScriptOptions = {}): string {
    return onlyOn(masterServerId, `${options.saltKey ?? "salt-key"} -y -d ${shellQuote(minion)}`, options.root ?? "");
}

/** Servers of a release behind a health gate of their own: the canary's, as its trial sees them. */
export interface CanaryGroup {
    /** Their private addresses. */
    readonly addresses: pulumi.Output<string[]>;
    /** Their health gate: the trial starts after it. */
    readonly healthGate: command.remote.Command;
}

/** The first servers of a release, made and tried before the rest. */
export interface Canary {
    /** How many, fewer than the release's servers. */
    readonly count: number;
    /** Tries them once their health gate passed; the rest of the servers are made only after what it returns. */
    readonly trial: (canary: CanaryGroup) => pulumi.Resource;
}

export interface AppServersArgs {
    /** Where the servers run. */
    readonly substrate: Substrate;
    /** Servers in the release. */
    readonly count: number;
    /** Stack name, a grain and part of minion ids. */
    readonly stack: string;
    /** Debian package name of the app, a grain and part of minion ids. */
    readonly app: pulumi.Input<string>;
    /** Release id: 12 hex digits naming the artifact with its configuration (see `releaseId`). */
    readonly releaseId: pulumi.Input<string>;
    /** The release's pillar (secret: it holds the app's secrets and the download URL). */
    readonly pillar: pulumi.Input<string>;
    /** The state tree on the master: servers apply states only once it is there. */
    readonly stateTree: SaltStateTree;
    /** Version the app must report on /health. */
    readonly projectVersion: pulumi.Input<string>;
    /** The app's TCP port. */
    readonly port: number;
    /** How long the health gate waits, in seconds. */
    readonly healthTimeoutSeconds: number;
    /** Salt LTS major version. */
    readonly saltVersion: string;
    /**
     * The Salt master: minions pin its key and connect to its address; minion keys are seeded and
     * the gate runs there. A replaced master gets the release's pillar and minion keys anew (the
     * servers stay).
     */
    readonly master: SaltMaster;
    /** Its canary: the first servers, tried before the rest are made (default: none, all are made at once). */
    readonly canary?: Canary;
}

/**
 * N servers for one release. A new release replaces every server (new ones are created and pass
 * the health gate before Pulumi deletes the old ones; with a canary, its servers are made, gated
 * and tried first, and the rest only once it passed); each server is a Salt minion with its own
 * Pulumi-generated key, pre-seeded on the master and removed from it with the server.
 */
export class AppServers extends pulumi.ComponentResource {
    /** Private addresses of the servers. */
    readonly addresses: pulumi.Output<string[]>;
    /** Salt minion ids of the servers. */
    readonly minionIds: pulumi.Output<string[]>;
    /** The health gate: everything that retires the old generation depends on it. */
    readonly healthGate: command.remote.Command;
    /** Servers in the release. */
    readonly count: number;

    constructor(name: string, args: AppServersArgs, opts?: pulumi.ComponentResourceOptions) {
        super("holodeck:index:AppServers", name, {}, opts);
        const parent = { parent: this };
        const master = args.master;
        this.count = args.count;
        // Everything per server is bound to the release: a new one makes new keys and servers. A
        // replaced master keeps its address and key, so the servers stay and reconnect to it.
        const releaseBound = { ...parent, replacementTrigger: args.releaseId };

        // pulumi-command's remote Command replaces only when `triggers` change (its one
        // replaceOnChanges input); other changed inputs update in place by running `create` again.
        // A new release (new path) or master is replaced create-before-delete: the old servers keep
        // their pillar until they are retired, and the old copy's delete, guarded by the server id,
        // leaves a new master's copy alone. A renewed URL (same path, new stdin) rewrites the file.
        const pillarPath = pulumi.all([args.app, args.releaseId]).apply(([app, releaseId]) => releasePillarPath(releaseName(app, args.stack, releaseId)));
        const pillar = new command.remote.Command(`${name}-pillar`, {
            connection: master.connection,
            create: pillarPath.apply((file) => `sudo ${pillarCreateScript(file)}`),
            stdin: args.pillar,
            delete: pulumi.all([pillarPath, master.serverId]).apply(([file, serverId]) => `sudo bash -c ${shellQuote(pillarDeleteScript(file, serverId))}`),
            triggers: [pillarPath, master.serverId],
        }, { ...parent, dependsOn: [args.stateTree.installed] });

        // Resolved once for all servers: per-server Outputs are what evaluation time goes to.
        const shared = pulumi.all([args.app, args.releaseId, master.privateAddress, master.publicKeyPem, master.finger]);
        const makeServer = (index: number, after: pulumi.Resource[]) => {
            const id = shared.apply(([app, releaseId]) => minionId(app, args.stack, releaseId, index));
            const key = new tls.PrivateKey(`${name}-${index}-minion-key`, { algorithm: "RSA", rsaBits: 2048 }, {
                ...releaseBound,
                additionalSecretOutputs: ["privateKeyPem", "privateKeyOpenssh", "privateKeyPemPkcs8"],
            });
            // The master accepts exactly this key for this id, and forgets it when the server goes. A
            // new key (new release) or master seeds anew, like the pillar.
            const seed = new command.remote.Command(`${name}-${index}-minion-key-seed`, {
                connection: master.connection,
                create: pulumi.all([id, key.publicKeyPem]).apply(([minion, publicKeyPem]) => `sudo bash -c ${shellQuote(minionKeyCreateScript(minion, publicKeyPem))}`),
                delete: pulumi.all([id, master.serverId]).apply(([minion, serverId]) => `sudo bash -c ${shellQuote(minionKeyDeleteScript(minion, serverId))}`),
                triggers: [id, key.publicKeyPem, master.serverId],
            }, { ...parent, dependsOn: [master.ready] });
            const userData = pulumi.secret(pulumi.all([shared, key.privateKeyPem, key.publicKeyPem]).apply(
                ([[app, releaseId, masterAddress, masterPublicKeyPem, masterFinger], minionPrivateKeyPem, minionPublicKeyPem]) =>
                    renderAppServerUserData({
                        saltMajor: args.saltVersion, saltInstall: args.substrate.saltInstall, masterAddress, minionId: minionId(app, args.stack, releaseId, index), minionPrivateKeyPem,
                        minionPublicKeyPem, masterPublicKeyPem, masterFinger, grains: { role: "app", app, release: releaseId, stack: args.stack },
                    })));
            const server = args.substrate.appServer(`${name}-${index}`, { userData, minionId: id, releaseId: args.releaseId }, {
                ...releaseBound,
                dependsOn: [seed, pillar, ...after],
            });
            return { id, server };
        };
        const gate = (gateName: string, gated: ReturnType<typeof makeServer>[]): CanaryGroup => {
            const addresses = pulumi.all(gated.map(({ server }) => server.address));
            const healthGate = new command.remote.Command(gateName, {
                connection: master.connection,
                create: pulumi.all([addresses, pulumi.all(gated.map(({ id }) => id)), args.projectVersion]).apply(([urls, minionIds, version]) => healthGateScript({
                    urls: urls.map((address) => `http://${address}:${args.port}/health`),
                    minionIds,
                    version,
                    timeoutSeconds: args.healthTimeoutSeconds,
                })),
            }, { ...releaseBound, dependsOn: gated.map(({ server }) => server.resource) });
            return { addresses, healthGate };
        };

        // The canary's servers first, then the rest once its trial has passed.
        const canaryCount = args.canary?.count ?? 0;
        const canary = Array.from({ length: canaryCount }, (_, index) => makeServer(index, []));
        const restAfter = args.canary ? [args.canary.trial(gate(`${name}-canary-gate`, canary))] : [];
        const servers = [...canary, ...Array.from({ length: args.count - canaryCount }, (_, rest) => makeServer(canaryCount + rest, restAfter))];

        const all = gate(`${name}-health-gate`, servers);
        this.addresses = all.addresses;
        this.minionIds = pulumi.all(servers.map(({ id }) => id));
        this.healthGate = all.healthGate;

        this.registerOutputs({ addresses: this.addresses, minionIds: this.minionIds });
    }
}
