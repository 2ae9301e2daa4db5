import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { SaltInstall, SshHostKey } from "../lib/cloudInit";
import { ShippedFile } from "../lib/repoFiles";
import type { Release } from "./artifact";
import type { AppServers } from "./appServers";
import type { SaltMaster } from "./saltMaster";

/** What a long-lived server is for: the substrate gives each its place (groups, size). */
export type HostRole = "salt-master" | "build-minion";

/** A long-lived server Pulumi manages over SSH (the Salt master, the build minion). */
export interface HostSpec {
    readonly role: HostRole;
    /** Its user data, given its private address and SSH host key (both known before the server exists). */
    readonly userData: (host: { privateAddress: pulumi.Output<string>; sshHostKey: pulumi.Output<SshHostKey> }) => pulumi.Input<string>;
    /** Shell command that succeeds once the server is ready for use, run after cloud-init. */
    readonly readyCheck: string;
}

/** Such a server, as the components built on it see it. */
export interface Host {
    /** Fixed private address. */
    readonly privateAddress: pulumi.Output<string>;
    /** Address Pulumi reaches it on for SSH. */
    readonly publicAddress: pulumi.Output<string>;
    /** SSH connection to it (secret: it holds the admin key), its host key pinned. */
    readonly connection: pulumi.Output<command.types.input.remote.ConnectionArgs>;
    /** Id of the server: a new one is a new server (files and keys Pulumi put there are gone). */
    readonly serverId: pulumi.Output<string>;
    /** Completes once cloud-init has run and the readiness check passes. */
    readonly ready: command.remote.Command;
}

/** One app server of a release: immutable, replaced whole when anything of it changes. */
export interface AppServerSpec {
    /** Its user data (secret: it holds the minion's key). */
    readonly userData: pulumi.Input<string>;
    /** Its Salt minion id. */
    readonly minionId: pulumi.Input<string>;
    /** The release it serves. */
    readonly releaseId: pulumi.Input<string>;
}

export interface AppServer {
    /** Private address the master, the health gate and the balancer reach it on. */
    readonly address: pulumi.Output<string>;
    /** The server resource: what retires the old generation depends on it. */
    readonly resource: pulumi.CustomResource;
}

/** The stack's own store of release .debs. */
export interface Store {
    /**
     * Shell command that publishes the release whose manifest's path is in $manifest, with
     * holodeck-publish in /usr/local/bin; it reads {@link publishStdin} on its stdin.
     */
    readonly publishCommand: pulumi.Output<string>;
    /** What the publish command reads on stdin: its upload credential (secret). */
    readonly publishStdin: pulumi.Output<string>;
    /** A download URL of `object` for the servers (secret: it grants the download). */
    downloadUrl(object: pulumi.Input<string>): pulumi.Output<string>;
    /**
     * Copies a release another stack verified into this store, on `master` with holodeck-publish
     * (`publisher`), its sha256 checked there; returns the object's name once stored.
     */
    copyIn(release: Release, master: SaltMaster, publisher: ShippedFile): pulumi.Output<string>;
}

/** A release a balancer switches to. */
export interface BalancedRelease {
    /** The release whose servers it serves: a new release gets a new pool. */
    readonly releaseId: pulumi.Input<string>;
    /** The release's servers. */
    readonly servers: AppServers;
    /** The app's port on the servers. */
    readonly port: number;
    /** The servers join only after these have passed (the health gate, the functional checks). */
    readonly admitAfter: pulumi.Input<pulumi.Resource>[];
}

/** The canary of a release: its first servers, tried beside the live release. */
export interface CanaryTrial {
    /** The release the canary servers run. */
    readonly releaseId: pulumi.Input<string>;
    /** The canary servers' private addresses. */
    readonly addresses: pulumi.Input<string[]>;
    /** The app's port on the servers. */
    readonly port: number;
    /** How long they serve beside the live release before the verdict, in seconds. */
    readonly soakSeconds: number;
    /** They join only after these have passed (their health gate, their functional checks). */
    readonly admitAfter: pulumi.Input<pulumi.Resource>[];
}

/** A balancer in front of one release at a time, switched to a new one only after its gates. */
export interface Balancer {
    /** Address the master checks the release through. */
    readonly vipAddress: pulumi.Output<string>;
    /** Address users reach it on. */
    readonly publicAddress: pulumi.Output<string>;
    /** Port it serves HTTP on. */
    readonly port: number;
    /** Switches it to `release`: what this returns completes once it serves it. */
    serve(release: BalancedRelease): pulumi.Resource;
    /**
     * Tries `canary` beside the live release and withdraws it again: what this returns completes
     * only if the canary passed, and otherwise fails the update with the live release serving alone.
     */
    tryCanary(canary: CanaryTrial): pulumi.Resource;
}

/**
 * Where the stack's servers run. The components take their servers from it and nothing else
 * differs between substrates: the user data, Salt, keys, pillar, states and gates are the same code.
 */
export interface Substrate {
    /** Login user of the servers: files Pulumi copies go to its home. */
    readonly sshUser: string;
    /** How the servers' user data gets Salt. */
    readonly saltInstall: SaltInstall;
    /** A long-lived server `name`, a child of `parent`. */
    host(name: string, spec: HostSpec, parent: pulumi.Resource): Host;
    /** An app server `name`; `opts` carry its parent, its dependencies and what replaces it. */
    appServer(name: string, spec: AppServerSpec, opts: pulumi.CustomResourceOptions): AppServer;
    /** The stack's artifact store `name`. */
    artifactStore(name: string): Store;
    /** A balancer `name`, for the releases' servers. */
    balancer(name: string): Balancer;
}
