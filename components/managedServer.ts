import * as command from "@pulumi/command";
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { SshHostKey } from "../lib/cloudInit";
import { shellQuote } from "../lib/shell";
import { Host } from "./substrate";

export interface ManagedServerArgs {
    /** Network the server joins. */
    readonly networkId: pulumi.Input<string>;
    /** Subnet its fixed address comes from. */
    readonly subnetId: pulumi.Input<string>;
    /** Security groups of its port. */
    readonly securityGroupIds: pulumi.Input<string>[];
    /** Glance image ID. */
    readonly imageId: string;
    /** Flavor name. */
    readonly flavor: string;
    /** Nova key pair for the admin SSH key. */
    readonly keyPair: pulumi.Input<string>;
    /** External network the floating IP comes from. */
    readonly externalNetwork: string;
    /** Login user of the image. */
    readonly sshUser: string;
    /** Admin SSH private key (secret). */
    readonly sshPrivateKey: pulumi.Input<string>;
    /** The server's user data, given its private address and SSH host key (both known before the server exists). */
    readonly userData: (host: { privateAddress: pulumi.Output<string>; sshHostKey: pulumi.Output<SshHostKey> }) => pulumi.Input<string>;
    /** Shell command that succeeds once the server is ready for use, run after cloud-init. */
    readonly readyCheck: string;
}

/**
 * Inputs of compute.Instance (terraform-provider-openstack v1.54.1) that Nova applies in place when
 * they change (rebuild, resize): the server is replaced instead, so it boots its user data anew.
 * Every other input the server is given (user data, key pair, networks) is ForceNew in the provider.
 */
export const replacedInsteadOfMutated = ["imageId", "flavorName"] as const;

/**
 * SSH dial limits. pulumi-command retries a failed dial (refused, timed out, or a host key other
 * than the pinned one, as while the image's sshd starts before cloud-init installed the key) after
 * 0.1 s, growing by half each time up to 5 s. 100 attempts are ~7.5 minutes when every dial is
 * refused at once and up to ~25 minutes when each runs into the timeout: enough for a slow boot
 * (a freshly replaced server reaches sshd in about a minute on a healthy cloud), where the default
 * 10 attempts give up after ~7.5 s. 10 s per dial is plenty for a TCP connect and the key exchange,
 * even on a server busy with its first boot.
 */
export const sshDialErrorLimit = 100;
export const sshPerDialTimeoutSeconds = 10;

/** A server's SSH host key `name`, made by the program: every connection can pin it before the server exists. */
export function programHostKey(name: string, parent: pulumi.Resource): { hostKey: tls.PrivateKey; sshHostKey: pulumi.Output<SshHostKey> } {
    const hostKey = new tls.PrivateKey(name, { algorithm: "ED25519" }, {
        parent,
        additionalSecretOutputs: ["privateKeyPem", "privateKeyOpenssh", "privateKeyPemPkcs8"],
    });
    const sshHostKey = pulumi.secret(pulumi.all([hostKey.privateKeyOpenssh, hostKey.publicKeyOpenssh])
        .apply(([privateKeyOpenssh, publicKeyOpenssh]): SshHostKey => ({ privateKeyOpenssh, publicKeyOpenssh })));
    return { hostKey, sshHostKey };
}

/** The SSH connection to `host` (secret: it holds the admin key), its host key pinned, patient with a booting server. */
export function pinnedConnection(
    host: pulumi.Input<string>, user: string, privateKey: pulumi.Input<string>, hostKey: tls.PrivateKey,
): pulumi.Output<command.types.input.remote.ConnectionArgs> {
    return pulumi.secret({
        host,
        user,
        privateKey,
        // The key's authorized_keys line: only this server's sshd gets the admin key and secrets.
        hostKey: hostKey.publicKeyOpenssh.apply((key) => key.trim()),
        dialErrorLimit: sshDialErrorLimit,
        perDialTimeout: sshPerDialTimeoutSeconds,
    });
}

/**
 * Where a server records its server id (`Host.serverId`), written by its ready command: what the
 * master's guards compare with the id a copy was created on.
 */
export const serverIdFile = "/var/lib/holodeck/server-id";

/** Records `serverId` in `serverIdFile` (below `root`, for tests). */
export function recordServerIdScript(serverId: string, root = ""): string {
    return `printf '%s\\n' ${shellQuote(serverId)} | install -D -m 0644 /dev/stdin ${shellQuote(root + serverIdFile)}`;
}

/**
 * Completes once cloud-init has run on the server and `readyCheck` passes, and records `serverId`
 * on it (see `serverIdFile`); runs again on each new server.
 */
export function readyCommand(
    name: string, connection: pulumi.Input<command.types.input.remote.ConnectionArgs>, readyCheck: string, serverId: pulumi.Input<string>,
    opts: pulumi.CustomResourceOptions,
): command.remote.Command {
    return new command.remote.Command(name, {
        connection,
        // cloud-init exits non-zero for recoverable warnings too: the check decides.
        create: pulumi.output(serverId).apply((id) => `cloud-init status --wait >/dev/null || true; ${readyCheck} && sudo bash -c ${shellQuote(recordServerIdScript(id))}`),
        triggers: [serverId],
    }, opts);
}

/**
 * A long-lived server Pulumi manages over SSH, with a stable identity: its own port (a fixed
 * private address), a floating IP for the admin CIDR and an SSH host key the program generates and
 * every connection pins all outlive the server itself. The server is replaced delete-first on any
 * change Nova cannot apply in place (image, flavor, user data, key pair, network): the stable port
 * can be attached to one server only, so the old server must be gone before the new one is created.
 */
export class ManagedServer extends pulumi.ComponentResource implements Host {
    /** Fixed private address. */
    readonly privateAddress: pulumi.Output<string>;
    /** Floating IP Pulumi reaches it on for SSH. */
    readonly publicAddress: pulumi.Output<string>;
    /** SSH connection to it (secret: it holds the admin key). */
    readonly connection: pulumi.Output<command.types.input.remote.ConnectionArgs>;
    /** The server; its id changes when it is replaced. */
    readonly server: openstack.compute.Instance;
    /** Its Nova id. */
    readonly serverId: pulumi.Output<string>;
    /** Completes once cloud-init has run and the readiness check passes. */
    readonly ready: command.remote.Command;

    constructor(name: string, args: ManagedServerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("holodeck:index:ManagedServer", name, {}, opts);
        const parent = { parent: this };

        const port = new openstack.networking.Port(`${name}-port`, {
            networkId: args.networkId,
            fixedIps: [{ subnetId: args.subnetId }],
            securityGroupIds: args.securityGroupIds,
            adminStateUp: true,
        }, parent);
        this.privateAddress = port.allFixedIps[0];

        const { hostKey, sshHostKey } = programHostKey(`${name}-host-key`, this);

        // Delete-first: the port holds the address, and a port serves one server at a time.
        this.server = new openstack.compute.Instance(`${name}-server`, {
            imageId: args.imageId,
            flavorName: args.flavor,
            keyPair: args.keyPair,
            networks: [{ port: port.id }],
            userData: args.userData({ privateAddress: this.privateAddress, sshHostKey }),
        }, { ...parent, deleteBeforeReplace: true, replaceOnChanges: [...replacedInsteadOfMutated] });
        this.serverId = this.server.id;

        // The floating IP and its association to the port outlive every server.
        const floatingIp = new openstack.networking.FloatingIp(`${name}-ip`, { pool: args.externalNetwork }, parent);
        const association = new openstack.networking.FloatingIpAssociate(`${name}-ip-association`, {
            floatingIp: floatingIp.address,
            portId: port.id,
        }, { ...parent, dependsOn: [this.server] });
        this.publicAddress = floatingIp.address;
        this.connection = pinnedConnection(floatingIp.address, args.sshUser, args.sshPrivateKey, hostKey);
        this.ready = readyCommand(`${name}-ready`, this.connection, args.readyCheck, this.server.id, { ...parent, dependsOn: [association] });

        this.registerOutputs({ privateAddress: this.privateAddress, publicAddress: this.publicAddress });
    }
}
