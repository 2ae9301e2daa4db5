import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { renderMetaData, seedDir } from "../lib/containerServers";
import { pinnedConnection, programHostKey, readyCommand } from "./managedServer";
import { Host, HostSpec } from "./substrate";

/** Where a server container runs and what it boots: what the docker substrate gives each one. */
export interface ContainerPlacement {
    /** The server image (scripts/server-image.sh), by the id the docker provider read. */
    readonly imageId: pulumi.Input<string>;
    /** Name of the stack's Docker network. */
    readonly networkName: pulumi.Input<string>;
    /** The admin's public key (OpenSSH line), given to the image's default user through the meta-data. */
    readonly adminPublicKey: pulumi.Input<string>;
    /** Labels every container of the stack carries. */
    readonly labels: Readonly<Record<string, pulumi.Input<string>>>;
}

/** The server's container, immutable: anything that changes makes a new one. */
export interface ServerContainerArgs extends ContainerPlacement {
    /** Its user data (secret). */
    readonly userData: pulumi.Input<string>;
    /** A fixed address on the network; undefined lets Docker give one from the dynamic range. */
    readonly address?: string;
    /** Host paths mounted read-only at the same path (a build minion's local repository). */
    readonly mounts?: readonly string[];
    /** Capabilities beyond Docker's defaults and NET_ADMIN (the build minion's SYS_ADMIN). */
    readonly capabilities?: readonly string[];
    /** A TCP port of the container published on one address of this machine (the store's). */
    readonly published?: { readonly port: number; readonly hostAddress: string; readonly hostPort: number };
}

/**
 * A server as a container: systemd as PID 1 (no --privileged: default capabilities and NET_ADMIN,
 * for the metadata guard's nftables), cloud-init reading its NoCloud seed, uploaded before the
 * container starts. Its id is its server id: any change of what it is made of, or a forced
 * replacement, makes a new container, where cloud-init runs anew.
 */
export function serverContainer(name: string, args: ServerContainerArgs, opts: pulumi.CustomResourceOptions): docker.Container {
    const userData = { file: `${seedDir}/user-data`, content: args.userData, owner: "0", group: "0", permissions: "0600" };
    // cloud-init keeps its state inside the container: every new one runs it anew, whatever its instance id.
    const metaData = pulumi.output(args.adminPublicKey).apply((key) => renderMetaData(name, key));
    return new docker.Container(name, {
        image: args.imageId,
        hostname: name,
        networksAdvanced: [{ name: args.networkName, ...(args.address ? { ipv4Address: args.address } : {}) }],
        tmpfs: { "/run": "", "/run/lock": "" },
        volumes: [
            { hostPath: "/sys/fs/cgroup", containerPath: "/sys/fs/cgroup", readOnly: true },
            ...(args.mounts ?? []).map((hostPath) => ({ hostPath, containerPath: hostPath, readOnly: true })),
        ],
        capabilities: { adds: ["NET_ADMIN", ...(args.capabilities ?? [])] },
        ...(args.published ? { ports: [{ internal: args.published.port, external: args.published.hostPort, ip: args.published.hostAddress, protocol: "tcp" }] } : {}),
        labels: Object.entries(args.labels).map(([label, value]) => ({ label, value })),
        mustRun: true,
        // systemd's own stop signal (the image's STOPSIGNAL), given time to stop its units.
        stopSignal: "SIGRTMIN+3",
        destroyGraceSeconds: 30,
        // The seed holds private keys: root's alone, in a directory the image makes root's alone.
        uploads: [userData, { file: `${seedDir}/meta-data`, content: metaData, owner: "0", group: "0", permissions: "0600" }],
    }, opts);
}

/** What ContainerServer adds to a server container: a fixed address, SSH, and what it runs (HostSpec's user data and readiness check). */
export interface ContainerServerArgs extends Omit<ServerContainerArgs, "userData" | "address">, Omit<HostSpec, "role"> {
    /** Its fixed address on the network (known before it exists, like an OpenStack port's). */
    readonly address: string;
    /** Login user of the image. */
    readonly sshUser: string;
    /** Admin SSH private key (secret). */
    readonly sshPrivateKey: pulumi.Input<string>;
}

/**
 * A long-lived server as a container of the docker substrate, what ManagedServer is on OpenStack:
 * a fixed address and an SSH host key the program generates outlive the container, which is
 * replaced delete-first (its address serves one container at a time) on any change.
 */
export class ContainerServer extends pulumi.ComponentResource implements Host {
    readonly privateAddress: pulumi.Output<string>;
    /** The same private address: this machine reaches the Docker network directly. */
    readonly publicAddress: pulumi.Output<string>;
    readonly connection: pulumi.Output<command.types.input.remote.ConnectionArgs>;
    /** The container's id: a new one with every new container. */
    readonly serverId: pulumi.Output<string>;
    readonly ready: command.remote.Command;

    constructor(name: string, args: ContainerServerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("holodeck:index:ContainerServer", name, {}, opts);
        const parent = { parent: this };
        this.privateAddress = pulumi.output(args.address);
        this.publicAddress = this.privateAddress;

        const { hostKey, sshHostKey } = programHostKey(`${name}-host-key`, this);
        const container = serverContainer(`${name}-server`, {
            ...args,
            userData: args.userData({ privateAddress: this.privateAddress, sshHostKey }),
        }, { ...parent, deleteBeforeReplace: true });
        this.serverId = container.id;

        this.connection = pinnedConnection(args.address, args.sshUser, args.sshPrivateKey, hostKey);
        this.ready = readyCommand(`${name}-ready`, this.connection, args.readyCheck, this.serverId, parent);

        this.registerOutputs({ privateAddress: this.privateAddress });
    }
}
