import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { AddressPlan, addressPlan, FixedServer } from "../lib/containerServers";
import { ContainerBalancer } from "./containerBalancer";
import { ContainerPlacement, ContainerServer, ContainerServerArgs, serverContainer } from "./containerServer";
import { ContainerStore } from "./containerStore";
import { AppServer, AppServerSpec, Balancer, Host, HostSpec, Store, Substrate } from "./substrate";

export interface DockerArgs {
    /** The stack's name: every container, network and image reference of it is labelled with it. */
    readonly stack: string;
    /** The server image every container boots (holodeck:serverImage; scripts/server-image.sh makes it). */
    readonly serverImage: string;
    /** CIDR of the stack's Docker network (holodeck:networkCidr). */
    readonly networkCidr: string;
    /** The admin SSH public key (OpenSSH line), given to the image's default user. */
    readonly adminPublicKey: pulumi.Input<string>;
    /** The admin SSH private key (secret): every connection logs in with it. */
    readonly adminPrivateKey: pulumi.Input<string>;
    /** Login user of the image. */
    readonly sshUser: string;
    /** Host paths the build minion sees read-only at the same path (a local holodeck:appRepo). */
    readonly buildMounts: readonly string[];
}

/** The label every Docker object of a stack carries, and its value. */
export const stackLabel = "io.holodeck.stack";

/**
 * Servers as containers of this machine's Docker engine that boot systemd and cloud-init with the
 * very user data OpenStack servers get, Salt preinstalled in their image. Not a component of its
 * own, like OpenStack: the network and image are top-level resources (`net`, `server-image`).
 */
export class Docker implements Substrate {
    readonly sshUser: string;
    readonly saltInstall = "preinstalled";
    /** Where every server sits on the network. */
    readonly plan: AddressPlan;
    private readonly placement: ContainerPlacement;

    constructor(private readonly args: DockerArgs) {
        this.sshUser = args.sshUser;
        this.plan = addressPlan(args.networkCidr);
        const labels = { [stackLabel]: args.stack };
        const network = new docker.Network("net", {
            ipamConfigs: [{ subnet: this.plan.subnet, gateway: this.plan.gateway, ipRange: this.plan.dynamicRange }],
            labels: Object.entries(labels).map(([label, value]) => ({ label, value })),
        });
        // Kept by `destroy`: the image is the machine's (scripts/server-image.sh), not the stack's.
        const image = new docker.RemoteImage("server-image", { name: args.serverImage, keepLocally: true });
        this.placement = { imageId: image.imageId, networkName: network.name, adminPublicKey: args.adminPublicKey, labels };
    }

    /** A long-lived server `name`, a child of `parent`, at the fixed address of `role`. */
    fixedServer(name: string, role: FixedServer, spec: Omit<HostSpec, "role">, parent: pulumi.Resource, published?: ContainerServerArgs["published"]): ContainerServer {
        const builds = role === "build-minion";
        return new ContainerServer(name, {
            published,
            ...this.placement,
            address: this.plan.fixed[role],
            sshUser: this.args.sshUser,
            sshPrivateKey: this.args.adminPrivateKey,
            userData: spec.userData,
            readyCheck: spec.readyCheck,
            mounts: builds ? this.args.buildMounts : [],
            // holodeck-build installs the venv in a private mount namespace (unshare --mount).
            capabilities: builds ? ["SYS_ADMIN"] : [],
        }, { parent });
    }

    host(name: string, spec: HostSpec, parent: pulumi.Resource): Host {
        return this.fixedServer(name, spec.role, spec, parent);
    }

    appServer(name: string, spec: AppServerSpec, opts: pulumi.CustomResourceOptions): AppServer {
        // As Nova metadata names an OpenStack server's minion and release.
        const labels = { ...this.placement.labels, "io.holodeck.minion-id": spec.minionId, "io.holodeck.release": spec.releaseId };
        const container = serverContainer(name, { ...this.placement, labels, userData: spec.userData }, opts);
        return { address: container.networkDatas.apply((networks) => networks[0].ipAddress), resource: container };
    }

    artifactStore(name: string): Store {
        return new ContainerStore(name, { docker: this });
    }

    balancer(name: string): Balancer {
        return new ContainerBalancer(name, { docker: this });
    }
}
